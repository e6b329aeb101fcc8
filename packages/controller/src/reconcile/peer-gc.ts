import type { ReconcileResult, Reconciler } from '@wirekube/kube-runtime';
import type { Logger } from 'pino';
import { planPeerGc } from '../gc/peers.js';
import type { ControllerCache, ControllerWriter } from '../kube/cluster.js';
import type { ControllerMetrics } from '../metrics/metrics.js';

/** Deletes WireKubePeers whose Node is gone, after a grace period. */
export class PeerGcReconciler implements Reconciler {
  constructor(
    private readonly deps: {
      cache: ControllerCache;
      writer: ControllerWriter;
      metrics: ControllerMetrics;
      log: Logger;
      now: () => number;
      graceMs: number;
    },
  ) {}

  async reconcile(): Promise<ReconcileResult> {
    const { cache, writer, metrics, log } = this.deps;
    const plan = planPeerGc({
      peers: cache.peers(),
      nodes: cache.nodeNames(),
      synced: cache.synced(),
      nowMs: this.deps.now(),
      graceMs: this.deps.graceMs,
    });
    for (const deletion of plan.delete) {
      await writer.deletePeer(deletion.peer);
      metrics.peersCollected.inc();
      log.info(
        { event: 'peer-collected', peer: deletion.peer, node: deletion.node, reason: deletion.reason },
        'deleted WireKubePeer of a removed Node',
      );
    }
    return plan.requeueAfterMs === undefined ? {} : { requeueAfterMs: plan.requeueAfterMs };
  }
}
