import { LeaseElector, type LeaseStore, ReconcileLoop, type Reconciler } from '@wirekube/kube-runtime';
import type { Logger } from 'pino';
import type { HealthSource } from './http/server.js';
import type { ControllerCache, ControllerWriter } from './kube/cluster.js';
import type { ControllerMetrics } from './metrics/metrics.js';
import { GatewayReconciler } from './reconcile/gateways.js';
import { MeshReconciler } from './reconcile/mesh.js';
import { PeerGcReconciler } from './reconcile/peer-gc.js';

export interface ControllerConfig {
  meshName: string;
  identity: string;
  /** How long a WireKubePeer without a Node is kept (the Node may only be missing from the cache). */
  peerGcGraceMs?: number;
  /** A pass this often even without watch events. */
  resyncMs?: number;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface ControllerDeps {
  cache: ControllerCache;
  writer: ControllerWriter;
  leaderLease: LeaseStore;
  metrics: ControllerMetrics;
  log: Logger;
  now?: () => number;
}

/**
 * Wires the parts: the reconcile loops run only while this replica leads; watches trigger them; losing the
 * Lease stops them before a standby may take over. Stopping releases the Lease.
 */
export class Controller implements HealthSource {
  private readonly elector: LeaseElector;
  private readonly reconcilers: Array<[string, Reconciler]>;
  private loops: ReconcileLoop[] = [];

  constructor(
    private readonly config: ControllerConfig,
    private readonly deps: ControllerDeps,
  ) {
    const now = deps.now ?? Date.now;
    const { cache, writer, metrics } = deps;
    this.reconcilers = [
      ['gateways', new GatewayReconciler({ cache, writer, metrics, log: deps.log, now })],
      ['mesh', new MeshReconciler({ cache, writer, meshName: config.meshName, log: deps.log })],
      [
        'peer-gc',
        new PeerGcReconciler({
          cache,
          writer,
          metrics,
          log: deps.log,
          now,
          graceMs: config.peerGcGraceMs ?? 60_000,
        }),
      ],
    ];
    const electorOptions: ConstructorParameters<typeof LeaseElector>[0] = {
      store: deps.leaderLease,
      identity: config.identity,
      log: deps.log,
      onStartedLeading: () => this.lead(),
      onStoppedLeading: () => void this.follow(),
    };
    if (config.leaseDurationMs !== undefined) electorOptions.leaseDurationMs = config.leaseDurationMs;
    if (config.renewDeadlineMs !== undefined) electorOptions.renewDeadlineMs = config.renewDeadlineMs;
    if (config.retryPeriodMs !== undefined) electorOptions.retryPeriodMs = config.retryPeriodMs;
    this.elector = new LeaseElector(electorOptions);
  }

  start(): void {
    this.elector.start();
  }

  /** A watch saw a change: every loop takes another (debounced) pass. */
  trigger(reason: string): void {
    for (const loop of this.loops) loop.trigger(reason);
  }

  async stop(): Promise<void> {
    await this.follow();
    await this.elector.stop();
  }

  isLeader(): boolean {
    return this.elector.isLeader();
  }

  healthy(): boolean {
    return true;
  }

  ready(): boolean {
    return !this.elector.isLeader() || this.deps.cache.synced();
  }

  private lead(): void {
    this.deps.metrics.leader.set(1);
    this.deps.log.info(
      { event: 'leading', identity: this.config.identity },
      'leading: reconcile loops start',
    );
    this.loops = this.reconcilers.map(([name, reconciler]) => {
      const loop = new ReconcileLoop({
        name,
        reconciler,
        log: this.deps.log,
        resyncMs: this.config.resyncMs ?? 60_000,
        outcomes: this.deps.metrics.outcomes(name),
      });
      loop.start();
      return loop;
    });
  }

  private async follow(): Promise<void> {
    this.deps.metrics.leader.set(0);
    const loops = this.loops;
    this.loops = [];
    await Promise.all(loops.map((l) => l.stop()));
  }
}
