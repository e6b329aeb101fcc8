import type { Logger } from 'pino';
import type { Dataplane } from '../dataplane/types.js';
import {
  type DiscoverEffect,
  initialRecheckState,
  nextRecheck,
  type RecheckInput,
  type RecheckState,
  type RecheckTimers,
} from '../endpoint/recheck.js';
import type { Endpoint } from '../endpoint/types.js';
import { errorMessage } from '../errors.js';
import type { AgentMetrics } from '../metrics/metrics.js';
import { probeNat, type StunQuery } from '../nat/probe.js';
import { readNodeFacts } from './node-facts.js';
import { type OwnEndpointDeps, type OwnEndpointOptions, publishOwnEndpoint } from './own-endpoint.js';
import type { NodeState } from './state.js';

/** The NAT type and the endpoint are checked again this often by default. */
export const DEFAULT_RECHECK_INTERVAL_MS = 300_000;

/**
 * Milliseconds until the next re-check is due (≤ 0: due now). Pure, so the schedule is tested from a table;
 * the reconciler turns the answer into its `requeueAfterMs`.
 */
export function recheckDelay(lastAtMs: number | undefined, nowMs: number, intervalMs: number): number {
  return lastAtMs === undefined ? 0 : lastAtMs + intervalMs - nowMs;
}

export interface RecheckOptions {
  intervalMs: number;
  /** After a failed round (no endpoint found, or an error); default 30 s, never longer than the interval. */
  retryMs?: number;
  /** What the pass sees: the listen port in effect, whether the own WireKubePeer exists. Default: no change. */
  observe?: () => { listenPort: number; ownPeerExists: boolean };
  /** The re-check itself (recheckNodeEndpoint in the agent): the endpoint found, or undefined for none. */
  run: (effect: DiscoverEffect) => Promise<Endpoint | undefined>;
  log: Logger;
  metrics: AgentMetrics;
}

/**
 * The NAT/endpoint re-check as a step of the reconcile pass, its schedule decided by endpoint/recheck.ts
 * (interval, a UPnP lease's deadline, retry, at once on a listen-port change or a deleted own WireKubePeer):
 * `step(now)` runs it when due and answers how long until it is due again. A failure is logged and counted and
 * never fails the pass. Start-up's own discovery counts as the first round (`markDone`).
 */
export class EndpointRecheck {
  private state: RecheckState = initialRecheckState;

  constructor(private readonly options: RecheckOptions) {}

  /** Start-up's round: what it found (undefined: nothing) for which listen port, and whether the peer exists. */
  markDone(
    nowMs: number,
    outcome: { listenPort?: number; endpoint?: Endpoint; ownPeerExists?: boolean } = {},
  ): void {
    const listenPort = outcome.listenPort ?? this.state.listenPort ?? 0;
    this.state = { ...this.state, ownPeerSeen: outcome.ownPeerExists ?? this.state.ownPeerSeen };
    this.feed(
      outcome.endpoint || outcome.listenPort === undefined
        ? {
            type: 'found',
            nowMs,
            listenPort,
            ...(outcome.endpoint ? { endpoint: outcome.endpoint } : {}),
          }
        : { type: 'failed', nowMs, listenPort },
    );
  }

  async step(nowMs: number): Promise<number> {
    const { run, log, metrics } = this.options;
    const seen = this.options.observe?.() ?? {
      listenPort: this.state.listenPort ?? 0,
      ownPeerExists: this.state.ownPeerSeen,
    };
    const observed = nextRecheck(this.state, { type: 'observe', nowMs, ...seen }, this.timers());
    this.state = observed.state;
    const effect = observed.effects[0];
    if (!effect) return (observed.wakeAt ?? nowMs) - nowMs;
    log.debug({ event: 'endpoint-recheck', reason: effect.reason }, 'endpoint re-check');
    try {
      const found = await run(effect);
      return this.feed(
        found
          ? { type: 'found', nowMs, listenPort: seen.listenPort, endpoint: found }
          : { type: 'failed', nowMs, listenPort: seen.listenPort },
      );
    } catch (error) {
      metrics.errors.inc({ component: 'endpoint' });
      log.warn({ event: 'endpoint-recheck-failed', err: errorMessage(error) }, 'endpoint re-check failed');
      return this.feed({ type: 'failed', nowMs, listenPort: seen.listenPort });
    }
  }

  private feed(input: RecheckInput): number {
    const next = nextRecheck(this.state, input, this.timers());
    this.state = next.state;
    return (next.wakeAt ?? input.nowMs) - input.nowMs;
  }

  private timers(): RecheckTimers {
    return { intervalMs: this.options.intervalMs, retryMs: this.options.retryMs ?? DEFAULT_RECHECK_RETRY_MS };
  }
}

/** A failed re-check is tried again this soon (unless the interval is shorter). */
export const DEFAULT_RECHECK_RETRY_MS = 30_000;

export interface RecheckDeps {
  stun: StunQuery;
  dataplane: Pick<Dataplane, 'hostAddresses' | 'readDevice'>;
  ownEndpoint: OwnEndpointDeps;
  ownEndpointOptions: OwnEndpointOptions;
}

/**
 * What a re-check does: STUN again — from the WireGuard port when the interface does not hold it yet (a
 * listen-port change before the apply moves WireGuard), else from an ephemeral port — re-read the Node and the
 * host addresses, then discover and publish the endpoint. Updates `state` in place; answers what it found.
 */
export async function recheckNodeEndpoint(
  deps: RecheckDeps,
  state: NodeState,
  effect: DiscoverEffect = { type: 'discover', reason: 'interval', trustPrevious: true },
): Promise<Endpoint | undefined> {
  const { kube, log } = deps.ownEndpoint;
  const { mesh } = state;
  const device = await deps.dataplane.readDevice(mesh.interfaceName);
  const portHeld = device !== undefined && device.listenPort === mesh.listenPort;
  state.nat = await probeNat(deps.stun, mesh.stunServers, mesh.listenPort, portHeld);
  state.node = await readNodeFacts(kube, deps.ownEndpointOptions.nodeName, log);
  state.hostAddresses = await deps.dataplane.hostAddresses(mesh.interfaceName);
  return publishOwnEndpoint(deps.ownEndpointOptions, deps.ownEndpoint, state, {
    trustPrevious: effect.trustPrevious,
  });
}
