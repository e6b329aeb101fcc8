import type { ReconcileOutcome, ReconcileOutcomeSink } from '@wirekube/kube-runtime';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The controller's metrics, in one Registry of its own (never prom-client's global default). */
export class ControllerMetrics {
  readonly registry = new Registry();
  readonly leader = new Gauge({
    name: 'wirekube_controller_leader',
    help: '1 while this replica holds the leader Lease.',
    registers: [this.registry],
  });
  readonly reconciles = new Counter({
    name: 'wirekube_controller_reconciles_total',
    help: 'Reconcile passes by loop and result.',
    labelNames: ['loop', 'result'] as const,
    registers: [this.registry],
  });
  readonly reconcileSeconds = new Histogram({
    name: 'wirekube_controller_reconcile_duration_seconds',
    help: 'Duration of reconcile passes.',
    labelNames: ['loop'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly gatewayReady = new Gauge({
    name: 'wirekube_gateway_ready',
    help: '1 when the gateway has a healthy active peer.',
    labelNames: ['gateway'] as const,
    registers: [this.registry],
  });
  readonly gatewayActive = new Gauge({
    name: 'wirekube_gateway_active_peer',
    help: '1 for the active peer of each gateway.',
    labelNames: ['gateway', 'peer'] as const,
    registers: [this.registry],
  });
  readonly gatewayPeerHealthy = new Gauge({
    name: 'wirekube_gateway_peer_healthy',
    help: '1 when the peer passes its health check (as its agent reports it).',
    labelNames: ['gateway', 'peer'] as const,
    registers: [this.registry],
  });
  readonly failovers = new Counter({
    name: 'wirekube_gateway_failovers_total',
    help: 'Changes of the active peer away from a peer that lost health.',
    labelNames: ['gateway'] as const,
    registers: [this.registry],
  });
  readonly peersCollected = new Counter({
    name: 'wirekube_controller_peers_collected_total',
    help: 'WireKubePeers deleted because their Node was gone.',
    registers: [this.registry],
  });

  outcomes(loop: string): ReconcileOutcomeSink {
    return {
      observe: (result: ReconcileOutcome, seconds: number) => {
        this.reconciles.inc({ loop, result });
        this.reconcileSeconds.observe({ loop }, seconds);
      },
    };
  }
}
