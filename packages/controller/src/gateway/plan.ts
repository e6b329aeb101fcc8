import {
  type GatewayHealthReport,
  type HealthLeaseLike,
  readGatewayHealthLease,
  type WireKubeGateway,
  type WireKubePeer,
} from '@wirekube/crd-types';
import { type Election, elect, type PeerObservation } from './election.js';
import { type GatewayStatusPlan, planGatewayStatus } from './status.js';

export interface GatewayPlan extends GatewayStatusPlan {
  election: Election;
}

/**
 * One gateway's decision from what the informers hold: WireKubePeers (existence, connected) and the health
 * Leases of this gateway. Pure; the reconciler writes `status` when `changed` and records `events`.
 */
export function planGateway(
  gateway: WireKubeGateway,
  peers: readonly WireKubePeer[],
  leases: readonly HealthLeaseLike[],
  nowMs: number,
): GatewayPlan {
  const name = gateway.metadata.name ?? '';
  const reports = new Map<string, GatewayHealthReport>();
  for (const lease of leases) {
    const report = readGatewayHealthLease(lease, nowMs);
    if (report?.gateway === name) reports.set(report.peer, report);
  }
  const byName = new Map(peers.map((p) => [p.metadata.name ?? '', p]));
  const observations = new Map<string, PeerObservation>();
  for (const ref of gateway.spec.peerRefs) {
    const peer = byName.get(ref);
    const observation: PeerObservation = {
      exists: peer !== undefined && !peer.metadata.deletionTimestamp,
      connected: peer?.status?.connected === true,
    };
    const report = reports.get(ref);
    if (report) observation.lease = report;
    observations.set(ref, observation);
  }
  const election = elect({
    peerRefs: gateway.spec.peerRefs,
    healthCheckEnabled: gateway.spec.healthCheck?.enabled === true,
    peers: observations,
    current: gateway.status?.activePeer || undefined,
  });
  return { ...planGatewayStatus(gateway, election, observations, nowMs), election };
}
