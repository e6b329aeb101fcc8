import type { ReconcileResult, Reconciler } from '@wirekube/kube-runtime';
import { errorMessage, mergePatchFor } from '@wirekube/kube-runtime';
import type { Logger } from 'pino';
import { planGateway } from '../gateway/plan.js';
import type { ControllerCache, ControllerWriter } from '../kube/cluster.js';
import type { ControllerMetrics } from '../metrics/metrics.js';

/**
 * Elects and writes the status of every WireKubeGateway. Thin: the decision is planGateway's; this writes
 * only changed status, records the planned Events and wakes again when the first healthy Lease would expire.
 */
export class GatewayReconciler implements Reconciler {
  constructor(
    private readonly deps: {
      cache: ControllerCache;
      writer: ControllerWriter;
      metrics: ControllerMetrics;
      log: Logger;
      now: () => number;
    },
  ) {}

  async reconcile(): Promise<ReconcileResult> {
    const { cache, writer, metrics, log } = this.deps;
    const now = this.deps.now();
    const peers = cache.peers();
    const leases = cache.healthLeases();
    let wake: number | undefined;
    const failures: string[] = [];
    metrics.gatewayActive.reset();
    metrics.gatewayPeerHealthy.reset();
    metrics.gatewayReady.reset();
    for (const gateway of cache.gateways()) {
      const name = gateway.metadata.name ?? '';
      if (!name || gateway.metadata.deletionTimestamp) continue;
      const plan = planGateway(gateway, peers, leases, now);
      metrics.gatewayReady.set({ gateway: name }, plan.status.ready ? 1 : 0);
      if (plan.status.activePeer)
        metrics.gatewayActive.set({ gateway: name, peer: plan.status.activePeer }, 1);
      for (const [peer, verdict] of plan.election.verdicts) {
        metrics.gatewayPeerHealthy.set({ gateway: name, peer }, verdict.health === 'healthy' ? 1 : 0);
      }
      if (plan.requeueAfterMs !== undefined)
        wake = Math.min(wake ?? plan.requeueAfterMs, plan.requeueAfterMs);
      if (!plan.changed) continue;
      const previous = gateway.status?.activePeer;
      const patch = mergePatchFor(gateway.status ?? {}, plan.status);
      try {
        if (patch) await writer.patchGatewayStatus(name, patch);
      } catch (error) {
        failures.push(`${name}: ${errorMessage(error)}`);
        continue;
      }
      if (previous !== plan.status.activePeer) {
        log.info(
          {
            event: 'gateway-active-changed',
            gateway: name,
            from: previous ?? null,
            to: plan.status.activePeer ?? null,
            reason: plan.election.reason,
          },
          'gateway active peer changed',
        );
        if (plan.election.reason === 'failover') metrics.failovers.inc({ gateway: name });
      }
      const involved = {
        apiVersion: gateway.apiVersion,
        kind: gateway.kind,
        metadata: { name, ...(gateway.metadata.uid ? { uid: gateway.metadata.uid } : {}) },
      };
      for (const event of plan.events) await writer.event(involved, event.type, event.reason, event.message);
    }
    // One bad gateway must not stop the others; the loop retries the whole pass with backoff.
    if (failures.length > 0) throw new Error(`gateway status writes failed: ${failures.join('; ')}`);
    return wake === undefined ? {} : { requeueAfterMs: wake + 50 };
  }
}
