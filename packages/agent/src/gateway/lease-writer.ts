import { GATEWAY_LEASE, gatewayLeaseDurationSeconds, gatewayLeaseName } from '@wirekube/crd-types';
import type { LeaseRecord, LeaseStore } from '@wirekube/kube-runtime';

export interface HealthCheckTarget {
  gateway: string;
  /** This node's WireKubePeer name. */
  peer: string;
  node: string;
  /** spec.healthCheck.target */
  target: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
}

/** Writes the health Lease of one (gateway, peer), creating it on first use (CONTRACTS: gateway health Leases). */
export async function writeHealthLease(
  store: LeaseStore,
  check: HealthCheckTarget,
  verdict: { healthy: boolean; message: string; lastProbeMs: number },
  nowMs: number,
): Promise<void> {
  const current = await store.get();
  const record: LeaseRecord = {
    holderIdentity: check.peer,
    leaseDurationSeconds: gatewayLeaseDurationSeconds(check.intervalSeconds, check.failureThreshold),
    acquireTimeMs: current?.acquireTimeMs ?? nowMs,
    renewTimeMs: nowMs,
    leaseTransitions: current?.leaseTransitions ?? 0,
    labels: {
      ...(current?.labels ?? {}),
      [GATEWAY_LEASE.gatewayLabel]: check.gateway,
      [GATEWAY_LEASE.nodeLabel]: check.node,
      [GATEWAY_LEASE.peerLabel]: check.peer,
    },
    annotations: {
      ...(current?.annotations ?? {}),
      [GATEWAY_LEASE.healthAnnotation]: verdict.healthy ? 'healthy' : 'unhealthy',
      [GATEWAY_LEASE.lastProbeAnnotation]: new Date(verdict.lastProbeMs).toISOString(),
      [GATEWAY_LEASE.messageAnnotation]: verdict.message.slice(0, 1024),
    },
  };
  if (current?.resourceVersion) record.resourceVersion = current.resourceVersion;
  await (current ? store.update(record) : store.create(record));
}

export function healthLeaseName(check: Pick<HealthCheckTarget, 'gateway' | 'peer'>): string {
  return gatewayLeaseName(check.gateway, check.peer);
}
