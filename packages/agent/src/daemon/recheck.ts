import type { Logger } from 'pino';
import type { Dataplane } from '../dataplane/types.js';
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
  /** The re-check itself (recheckNodeEndpoint in the agent). */
  run: () => Promise<void>;
  log: Logger;
  metrics: AgentMetrics;
}

/**
 * The periodic NAT/endpoint re-check as a step of the reconcile pass: `step(now)` runs it when due and answers
 * how long until it is due again. A failure is logged and counted, never fails the pass, and is retried at the
 * next interval. Start-up's own discovery counts as the first check (`markDone`).
 */
export class EndpointRecheck {
  private lastAtMs: number | undefined;

  constructor(private readonly options: RecheckOptions) {}

  markDone(nowMs: number): void {
    this.lastAtMs = nowMs;
  }

  async step(nowMs: number): Promise<number> {
    const { intervalMs, run, log, metrics } = this.options;
    const delay = recheckDelay(this.lastAtMs, nowMs, intervalMs);
    if (delay > 0) return delay;
    this.lastAtMs = nowMs;
    try {
      await run();
    } catch (error) {
      metrics.errors.inc({ component: 'endpoint' });
      log.warn({ event: 'endpoint-recheck-failed', err: errorMessage(error) }, 'endpoint re-check failed');
    }
    return intervalMs;
  }
}

export interface RecheckDeps {
  stun: StunQuery;
  dataplane: Pick<Dataplane, 'hostAddresses'>;
  ownEndpoint: OwnEndpointDeps;
  ownEndpointOptions: OwnEndpointOptions;
}

/**
 * What a re-check does: STUN again from an ephemeral port (the interface holds the WireGuard port), re-read the
 * Node and the host addresses, then discover and publish the endpoint. Updates `state` in place.
 */
export async function recheckNodeEndpoint(deps: RecheckDeps, state: NodeState): Promise<void> {
  const { kube, log } = deps.ownEndpoint;
  state.nat = await probeNat(deps.stun, state.mesh.stunServers, state.mesh.listenPort, true);
  state.node = await readNodeFacts(kube, deps.ownEndpointOptions.nodeName, log);
  state.hostAddresses = await deps.dataplane.hostAddresses(state.mesh.interfaceName);
  await publishOwnEndpoint(deps.ownEndpointOptions, deps.ownEndpoint, state);
}
