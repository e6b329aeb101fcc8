import { gatewayLeaseDurationSeconds } from '@wirekube/crd-types';
import {
  type Clock,
  errorMessage,
  type LeaseStore,
  type ReconcileResult,
  type Reconciler,
  systemClock,
} from '@wirekube/kube-runtime';
import type { Logger } from 'pino';
import { type HealthState, initialHealth, nextHealth } from './health.js';
import { type HealthCheckTarget, healthLeaseName, writeHealthLease } from './lease-writer.js';
import { type ProbeResult, type Prober, parseProbeTarget, systemProber } from './probe.js';

/** Where probe outcomes go (the agent's Prometheus metrics). */
export interface ProbeSink {
  observe(check: HealthCheckTarget, result: ProbeResult): void;
}

interface Running {
  check: HealthCheckTarget;
  key: string;
  state: HealthState;
  dueAtMs: number;
}

/**
 * The gateway health checks this node runs (it is in the gateways' peerRefs). A Reconciler: each pass probes
 * what is due, writes Leases as the health machine says, and asks to be woken when the next probe is due, so
 * its only timer is its ReconcileLoop's requeue.
 */
export class GatewayHealthChecks implements Reconciler {
  private readonly clock: Clock;
  private readonly prober: Prober;
  private running = new Map<string, Running>();

  constructor(
    private readonly deps: {
      leaseStore: (name: string) => LeaseStore;
      log: Logger;
      prober?: Prober;
      clock?: Clock;
      sink?: ProbeSink;
    },
  ) {
    this.clock = deps.clock ?? systemClock;
    this.prober = deps.prober ?? systemProber;
  }

  /** The checks to run now; returns whether anything changed (then trigger the loop). */
  set(checks: readonly HealthCheckTarget[]): boolean {
    const next = new Map<string, Running>();
    let changed = checks.length !== this.running.size;
    for (const check of checks) {
      const key = `${check.gateway}\n${check.peer}`;
      const before = this.running.get(key);
      if (before && JSON.stringify(before.check) === JSON.stringify(check)) {
        next.set(key, before);
        continue;
      }
      changed = true;
      // Settings changed: keep the verdict, probe at once under the new ones.
      next.set(key, { check, key, state: before?.state ?? initialHealth(), dueAtMs: this.clock.now() });
    }
    this.running = next;
    return changed;
  }

  async reconcile(): Promise<ReconcileResult> {
    const now = this.clock.now();
    const due = [...this.running.values()].filter((r) => r.dueAtMs <= now);
    await Promise.all(due.map((r) => this.run(r)));
    const next = Math.min(...[...this.running.values()].map((r) => r.dueAtMs));
    return Number.isFinite(next) ? { requeueAfterMs: Math.max(0, next - this.clock.now()) } : {};
  }

  private async run(running: Running): Promise<void> {
    const { check } = running;
    const settings = {
      intervalMs: check.intervalSeconds * 1000,
      failureThreshold: check.failureThreshold,
      renewMs: (gatewayLeaseDurationSeconds(check.intervalSeconds, check.failureThreshold) * 1000) / 3,
    };
    const target = parseProbeTarget(check.target);
    const result: ProbeResult = target
      ? await this.prober(target, check.timeoutSeconds * 1000)
      : {
          ok: false,
          latencyMs: 0,
          error: `healthCheck.target ${JSON.stringify(check.target)} is not host:port or an address`,
        };
    this.deps.sink?.observe(check, result);
    const at = this.clock.now();
    const step = nextHealth(
      running.state,
      { kind: 'probed', ok: result.ok, error: result.error, atMs: at },
      settings,
    );
    let state = step.state;
    for (const effect of step.effects) {
      try {
        await writeHealthLease(this.deps.leaseStore(healthLeaseName(check)), check, effect, this.clock.now());
        state = nextHealth(state, { kind: 'written', healthy: effect.healthy, atMs: at }, settings).state;
        if (running.state.written?.healthy !== effect.healthy) {
          this.deps.log.info(
            {
              event: effect.healthy ? 'gateway-probe-healthy' : 'gateway-probe-unhealthy',
              gateway: check.gateway,
              peer: check.peer,
              target: check.target,
              reason: effect.message || undefined,
            },
            `gateway health check ${effect.healthy ? 'passes' : 'fails'}`,
          );
        }
      } catch (error) {
        // Not marked written: the next probe writes again.
        this.deps.log.warn(
          {
            event: 'gateway-lease-write-failed',
            gateway: check.gateway,
            peer: check.peer,
            err: errorMessage(error),
          },
          'cannot write gateway health lease',
        );
      }
    }
    // A set() during the probe may have replaced this check: only update the one still running.
    if (this.running.get(running.key) === running) {
      running.state = state;
      running.dueAtMs = step.wakeAt;
    }
  }
}
