import type { GatewayHealthReport, GatewayPeerHealth } from '@wirekube/crd-types';

/** What the election knows about one peerRef. */
export interface PeerObservation {
  /** The WireKubePeer exists and is not being deleted. */
  exists: boolean;
  /** Its status.connected (a recent WireGuard handshake); decides when health checking is off. */
  connected: boolean;
  /** Its health Lease, read at the election's `nowMs`; absent when the agent never wrote one. */
  lease?: GatewayHealthReport;
}

export interface ElectionInput {
  peerRefs: readonly string[];
  healthCheckEnabled: boolean;
  /** By peer name; a peerRef missing here is treated as not existing. */
  peers: ReadonlyMap<string, PeerObservation>;
  /** status.activePeer as last written. */
  current?: string;
}

export type ElectionReason =
  /** The current active peer is still healthy: kept (no preemption). */
  | 'kept'
  /** No active peer before: the first healthy peerRef. */
  | 'elected'
  /** The active peer failed or left peerRefs: the first healthy peerRef took over. */
  | 'failover'
  /** No peerRef is healthy. */
  | 'none-healthy';

export interface PeerVerdict {
  health: GatewayPeerHealth;
  /** Why a peer is unhealthy, for the Ready condition and Events. Empty when healthy. */
  why: string;
}

export interface Election {
  active?: string;
  reason: ElectionReason;
  /** Every peerRef, in peerRefs order. */
  verdicts: ReadonlyMap<string, PeerVerdict>;
}

/**
 * Elects the active gateway peer. The first healthy peerRef wins when nobody is active; after that the
 * active peer keeps the role while it stays healthy, even when an earlier peerRef recovers (Headscale's
 * policy): a failback is a second traffic interruption, and a flapping primary would cause one per flap,
 * while serving from a healthy secondary costs nothing. An operator who wants the primary back reorders or
 * edits peerRefs, or the secondary fails.
 */
export function elect(input: ElectionInput): Election {
  const verdicts = new Map<string, PeerVerdict>();
  for (const ref of input.peerRefs) verdicts.set(ref, judge(input, ref));
  const healthy = (name: string | undefined): name is string =>
    name !== undefined && verdicts.get(name)?.health === 'healthy';

  if (healthy(input.current)) return { active: input.current, reason: 'kept', verdicts };
  const first = input.peerRefs.find((ref) => healthy(ref));
  if (first === undefined) return { reason: 'none-healthy', verdicts };
  return { active: first, reason: input.current ? 'failover' : 'elected', verdicts };
}

function judge(input: ElectionInput, name: string): PeerVerdict {
  const peer = input.peers.get(name);
  if (!peer?.exists) return { health: 'unhealthy', why: 'WireKubePeer not found' };
  if (!input.healthCheckEnabled) {
    return peer.connected
      ? { health: 'healthy', why: '' }
      : { health: 'unhealthy', why: 'agent not connected (no recent handshake)' };
  }
  if (!peer.lease) return { health: 'unhealthy', why: 'no health report from its agent yet' };
  return peer.lease.healthy
    ? { health: 'healthy', why: '' }
    : { health: 'unhealthy', why: peer.lease.message };
}
