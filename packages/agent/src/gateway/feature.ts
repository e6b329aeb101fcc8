import { peerNameForNode, type WireKubeGateway, type WireKubePeer } from '@wirekube/crd-types';
import {
  type Clock,
  type InformerLike,
  type InvolvedObject,
  type LeaseStore,
  ReconcileLoop,
  ResilientInformer,
} from '@wirekube/kube-runtime';
import type { Logger } from 'pino';
import { type GatewayDataplane, planGateways, withGateways } from '../plan/gateway.js';
import type { DesiredNode } from '../plan/types.js';
import { GatewayHealthChecks, type ProbeSink } from './checks.js';
import type { Prober } from './probe.js';
import { healthChecksFor } from './targets.js';

export interface GatewayEventSink {
  record(
    involved: InvolvedObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void>;
}

export interface GatewayFeatureDeps {
  nodeName: string;
  gatewayInformer: InformerLike<WireKubeGateway>;
  leaseStore: (name: string) => LeaseStore;
  events: GatewayEventSink;
  log: Logger;
  probeSink?: ProbeSink;
  prober?: Prober;
  clock?: Clock;
}

/** What the agent's reconciler calls: two hooks, around the apply. */
export interface GatewayHook {
  /** Adds the gateway routes, AllowedIPs and forwarding to the node's plan. Pure apart from remembering it. */
  extend(
    desired: DesiredNode,
    context: { peers: readonly WireKubePeer[]; protectedAddresses: readonly string[] },
  ): DesiredNode;
  /** After the apply: one Event per refused route. */
  afterApply(): Promise<void>;
}

/**
 * The gateway part of the agent, wired: the WireKubeGateway watch, the health checks for gateways this node
 * serves (their own ReconcileLoop, timed by its requeues), and the hooks that put the gateway plan into the
 * node's plan.
 */
export class GatewayFeature implements GatewayHook {
  private readonly selfName: string;
  private readonly informer: ResilientInformer<WireKubeGateway>;
  private readonly checks: GatewayHealthChecks;
  private readonly healthLoop: ReconcileLoop;
  private planned?: GatewayDataplane;
  private readonly reported = new Map<string, string>();
  private onChange: () => void = () => {};

  constructor(private readonly deps: GatewayFeatureDeps) {
    this.selfName = peerNameForNode(deps.nodeName);
    this.informer = new ResilientInformer({
      name: 'wirekubegateways',
      informer: deps.gatewayInformer,
      log: deps.log,
      onChange: () => this.gatewaysChanged(),
    });
    this.checks = new GatewayHealthChecks({
      leaseStore: deps.leaseStore,
      log: deps.log,
      ...(deps.prober ? { prober: deps.prober } : {}),
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(deps.probeSink ? { sink: deps.probeSink } : {}),
    });
    this.healthLoop = new ReconcileLoop({
      name: 'gateway-health',
      reconciler: this.checks,
      log: deps.log,
      debounceMs: 10,
      ...(deps.clock ? { clock: deps.clock } : {}),
    });
  }

  /** Starts the watch and the health loop; `onChange` asks the node's reconciler for a pass. */
  async start(onChange: () => void): Promise<void> {
    this.onChange = onChange;
    await this.informer.start();
    this.gatewaysChanged();
    this.healthLoop.start();
  }

  async stop(): Promise<void> {
    await this.healthLoop.stop();
    await this.informer.stop();
  }

  extend(
    desired: DesiredNode,
    context: { peers: readonly WireKubePeer[]; protectedAddresses: readonly string[] },
  ): DesiredNode {
    const self = context.peers.find((p) => p.metadata.name === this.selfName);
    this.planned = planGateways({
      selfName: this.selfName,
      ...(self ? { self } : {}),
      peers: context.peers,
      gateways: this.informer.list(),
      protectedAddresses: context.protectedAddresses,
      interfaceName: desired.device.name,
    });
    return withGateways(desired, this.planned);
  }

  async afterApply(): Promise<void> {
    // The gateway's iptables rules travel in the node plan (DesiredNode.iptables) and are set by the dataplane's
    // one iptables applier with every other WireKube rule; only the Events for refused routes are left here.
    if (this.planned) await this.reportRefused(this.planned);
  }

  private async reportRefused(planned: GatewayDataplane): Promise<void> {
    const current = new Map(planned.refused.map((r) => [`${r.gateway} ${r.cidr}`, r.reason]));
    for (const refused of planned.refused) {
      const key = `${refused.gateway} ${refused.cidr}`;
      if (this.reported.get(key) === refused.reason) continue;
      this.reported.set(key, refused.reason);
      this.deps.log.warn(
        {
          event: 'gateway-route-refused',
          gateway: refused.gateway,
          cidr: refused.cidr,
          reason: refused.reason,
        },
        'gateway route refused',
      );
      const gateway = this.informer.get(refused.gateway);
      if (gateway) {
        await this.deps.events.record(
          { apiVersion: gateway.apiVersion, kind: gateway.kind, metadata: { name: refused.gateway } },
          'Warning',
          'GatewayRouteRefused',
          `${this.deps.nodeName} refuses route ${refused.cidr}: ${refused.reason}`,
        );
      }
    }
    for (const key of [...this.reported.keys()]) if (!current.has(key)) this.reported.delete(key);
  }

  private gatewaysChanged(): void {
    const checks = healthChecksFor(this.informer.list(), { peer: this.selfName, node: this.deps.nodeName });
    if (this.checks.set(checks)) this.healthLoop.trigger('gateways');
    this.onChange();
  }
}
