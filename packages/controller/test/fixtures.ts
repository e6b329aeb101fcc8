import {
  API_VERSION,
  GATEWAY_LEASE,
  type HealthLeaseLike,
  LABELS,
  type WireKubeGateway,
  type WireKubeGatewaySpec,
  type WireKubePeer,
} from '@wirekube/crd-types';

export const T0 = Date.parse('2026-12-01T10:00:00Z');

export function gateway(
  spec: Partial<WireKubeGatewaySpec> = {},
  status?: WireKubeGateway['status'],
): WireKubeGateway {
  const gw: WireKubeGateway = {
    apiVersion: API_VERSION,
    kind: 'WireKubeGateway',
    metadata: { name: 'vpc-b', generation: 2 },
    spec: {
      peerRefs: ['node-b1', 'node-b2'],
      routes: [{ cidr: '172.20.0.0/16' }],
      healthCheck: { enabled: true, target: '172.20.1.254:443', intervalSeconds: 5, failureThreshold: 1 },
      ...spec,
    },
  };
  if (status) gw.status = status;
  return gw;
}

export function peer(
  name: string,
  extra: { connected?: boolean; node?: string; created?: number } = {},
): WireKubePeer {
  const p: WireKubePeer = {
    apiVersion: API_VERSION,
    kind: 'WireKubePeer',
    metadata: { name, creationTimestamp: new Date(extra.created ?? T0 - 3_600_000).toISOString() },
    spec: { publicKey: `${name}-key`, allowedIPs: ['10.0.0.1/32'] },
  };
  if (extra.node) p.metadata.labels = { [LABELS.node]: extra.node };
  if (extra.connected !== undefined) p.status = { connected: extra.connected };
  return p;
}

/** A health Lease as an agent writes it: renewed `renewedMsAgo` before `now`, valid `durationS`. */
export function healthLease(
  gatewayName: string,
  peerName: string,
  health: 'healthy' | 'unhealthy',
  renewedAtMs: number,
  durationS = 10,
): HealthLeaseLike {
  return {
    metadata: {
      name: `wkgw-${gatewayName}-${peerName}`,
      labels: { [GATEWAY_LEASE.gatewayLabel]: gatewayName, [GATEWAY_LEASE.peerLabel]: peerName },
      annotations: {
        [GATEWAY_LEASE.healthAnnotation]: health,
        [GATEWAY_LEASE.lastProbeAnnotation]: new Date(renewedAtMs).toISOString(),
        ...(health === 'unhealthy' ? { [GATEWAY_LEASE.messageAnnotation]: 'connect ETIMEDOUT' } : {}),
      },
    },
    spec: {
      holderIdentity: peerName,
      leaseDurationSeconds: durationS,
      renewTime: new Date(renewedAtMs).toISOString(),
    },
  };
}
