import type { WireKubeGateway } from '@wirekube/crd-types';
import type { HealthCheckTarget } from './lease-writer.js';

/** The health checks this node runs: one per gateway that lists it in peerRefs and has healthCheck enabled. */
export function healthChecksFor(
  gateways: readonly WireKubeGateway[],
  self: { peer: string; node: string },
): HealthCheckTarget[] {
  return gateways
    .filter((g) => g.metadata.name && !g.metadata.deletionTimestamp)
    .filter((g) => g.spec.healthCheck?.enabled === true && g.spec.peerRefs.includes(self.peer))
    .map((g) => {
      const hc = g.spec.healthCheck!;
      return {
        gateway: g.metadata.name as string,
        peer: self.peer,
        node: self.node,
        target: hc.target,
        intervalSeconds: hc.intervalSeconds ?? 30,
        timeoutSeconds: hc.timeoutSeconds ?? 5,
        failureThreshold: hc.failureThreshold ?? 3,
      };
    })
    .sort((a, b) => (a.gateway < b.gateway ? -1 : 1));
}
