import { type EndpointDiscoveryMethod, peerNameForNode, type WireKubePeer } from '@wirekube/crd-types';
import {
  Backoff,
  type Clock,
  mergePatchFor,
  ReconcileLoop,
  type ReconcileResult,
  type Reconciler,
} from '@wirekube/kube-runtime';
import { formatIp, tryParseEndpoint } from '@wirekube/netlink';
import type { Logger } from 'pino';
import type { Dataplane, DeviceSnapshot } from '../dataplane/types.js';
import { summaryChanged } from '../dataplane/types.js';
import { errorMessage } from '../errors.js';
import type { GatewayHook } from '../gateway/feature.js';
import type { AgentKubeApi } from '../kube/api.js';
import type { AgentMetrics } from '../metrics/metrics.js';
import type { PathController } from '../path/controller.js';
import { plan } from '../plan/plan.js';
import type { ProtectedAddressSource } from '../plan/protect.js';
import type { DesiredNode, ObservedPeer } from '../plan/types.js';
import { computeStatus } from '../status/compute.js';
import { statusWriteDue, type WrittenStatus } from '../status/throttle.js';
import type { EndpointRecheck } from './recheck.js';
import type { NodeState, PeerCache } from './state.js';

/** WireGuard's handshakes and counters are read back this often by default (they move routes and status). */
export const DEFAULT_READBACK_INTERVAL_MS = 5_000;

export interface AgentReconcilerOptions {
  nodeName: string;
  /** Never routed into the tunnel: the API server, relays (DESIGN.md lesson 1). Own addresses are added. */
  protectedAddresses?: readonly string[];
  readbackIntervalMs?: number;
}

export interface AgentReconcilerDeps {
  kube: AgentKubeApi;
  dataplane: Dataplane;
  metrics: AgentMetrics;
  log: Logger;
  peers: PeerCache<WireKubePeer>;
  recheck: EndpointRecheck;
  now: () => number;
  /** More addresses for the main table, read every pass (API server EndpointSlices, relays). */
  protectedSources?: readonly ProtectedAddressSource[];
  /** WireKubeGateway routes, forwarding and SNAT (agent/src/gateway). */
  gateways?: GatewayHook;
  /** Path selection: relayed peers' endpoints, the relay's protected addresses, real transports for status. */
  path?: Pick<PathController, 'prepare' | 'protectedAddresses' | 'transports' | 'relayProxyOpen'> &
    Partial<Pick<PathController, 'beforePlan'>>;
}

/**
 * One level-triggered pass over the node: the endpoint re-check when due, one reading of the WireGuard device,
 * plan(), apply (handed that reading), skipped-peer Events, status, metrics. Driven by a ReconcileLoop; it asks
 * to run again when WireGuard should be read back or the re-check falls due, and throws to be retried.
 */
export class AgentReconciler implements Reconciler {
  private readonly selfName: string;
  private readonly reportedSkips = new Map<string, string>();
  private readonly reportedWithheld = new Set<string>();
  private writtenStatus?: WrittenStatus;
  /** The last plan that was applied: for readiness, status and tests. */
  lastApplied?: DesiredNode;

  constructor(
    private readonly options: AgentReconcilerOptions,
    private readonly deps: AgentReconcilerDeps,
    private readonly state: NodeState,
  ) {
    this.selfName = peerNameForNode(options.nodeName);
  }

  async reconcile(): Promise<ReconcileResult> {
    const { dataplane, now } = this.deps;
    const untilRecheck = await this.deps.recheck.step(now());
    const device = await this.readDevice();
    const observed = new Map<string, ObservedPeer>((device?.peers ?? []).map((p) => [p.publicKey, p]));
    const self = this.deps.peers.get(this.selfName);
    await this.deps.path?.beforePlan?.(this.state.mesh);
    const planned = this.plan(self, observed);
    const withGateways =
      this.deps.gateways?.extend(planned, {
        peers: this.deps.peers.list(),
        protectedAddresses: [...this.mainTableAddresses(), ...this.state.hostAddresses],
      }) ?? planned;
    const desired = this.deps.path
      ? await this.deps.path.prepare(this.pathContext(withGateways, self, observed))
      : withGateways;
    const summary = await dataplane.apply(desired, device);
    await this.deps.gateways?.afterApply();
    if (summaryChanged(summary))
      this.deps.log.info({ event: 'dataplane-updated', summary }, 'dataplane updated');
    this.lastApplied = desired;
    await this.reportSkipped(desired);
    await this.reportProtectedRoutes(desired);
    await this.writeStatus(desired, observed, self);
    this.observeMetrics(desired, observed);
    const readback = this.options.readbackIntervalMs ?? DEFAULT_READBACK_INTERVAL_MS;
    return { requeueAfterMs: Math.min(readback, untilRecheck) };
  }

  /** The device once per pass; an interface someone deleted is recreated and the apply restores the rest. */
  private async readDevice(): Promise<DeviceSnapshot | undefined> {
    const { dataplane, log } = this.deps;
    const { interfaceName, mtu } = this.state.mesh;
    const device = await dataplane.readDevice(interfaceName);
    if (device) return device;
    log.warn({ event: 'interface-missing', interface: interfaceName }, 'interface missing; recreating');
    await dataplane.createDevice(interfaceName, mtu);
    return dataplane.readDevice(interfaceName);
  }

  private plan(self: WireKubePeer | undefined, observed: ReadonlyMap<string, ObservedPeer>): DesiredNode {
    const { state } = this;
    const own = state.endpoint ? tryParseEndpoint(state.endpoint.endpoint) : undefined;
    const publicIP = own ? formatIp(own.bytes) : undefined;
    return plan({
      nodeName: this.options.nodeName,
      mesh: state.mesh,
      privateKey: state.keys.privateKey,
      publicKey: state.keys.publicKey,
      ...(self ? { self } : {}),
      peers: this.deps.peers.list(),
      observed,
      ...(publicIP ? { publicIP } : {}),
      protectedAddresses: [...this.mainTableAddresses(), ...state.hostAddresses],
      // The API server and relays also get a lookup-main rule ahead of table 22347 (issue 11.5).
      mainTableAddresses: this.mainTableAddresses(),
      relayProxy: this.deps.path?.relayProxyOpen() ?? false,
      nowMs: this.deps.now(),
    });
  }

  private mainTableAddresses(): string[] {
    const watched = (this.deps.protectedSources ?? []).flatMap((source) => source.addresses());
    return [
      ...(this.options.protectedAddresses ?? []),
      ...watched,
      ...(this.deps.path?.protectedAddresses() ?? []),
    ];
  }

  private pathContext(
    planned: DesiredNode,
    self: WireKubePeer | undefined,
    observed: ReadonlyMap<string, ObservedPeer>,
  ) {
    const { state } = this;
    const own = state.endpoint ? tryParseEndpoint(state.endpoint.endpoint) : undefined;
    return {
      mesh: state.mesh,
      desired: planned,
      peers: this.deps.peers.list(),
      ...(self ? { self } : {}),
      ...(own ? { publicIP: formatIp(own.bytes) } : {}),
      hostAddresses: state.hostAddresses,
      natType: state.nat.natType,
      observed,
    };
  }

  /** One Event and one log line per bad peer object and reason; repeated passes stay quiet. */
  private async reportSkipped(desired: DesiredNode): Promise<void> {
    const current = new Map(desired.skipped.map((s) => [s.name, s.reason]));
    for (const [name, reason] of current) {
      if (this.reportedSkips.get(name) === reason) continue;
      this.reportedSkips.set(name, reason);
      this.deps.log.warn({ event: 'peer-skipped', peer: name, reason }, 'peer skipped');
      const peer = this.deps.peers.get(name);
      if (peer)
        await this.deps.kube.recordEvent(
          peer,
          'Warning',
          'PeerSkipped',
          `skipped by ${this.options.nodeName}: ${reason}`,
        );
    }
    for (const name of [...this.reportedSkips.keys()])
      if (!current.has(name)) this.reportedSkips.delete(name);
  }

  /**
   * A peer prefix covering the API server, a relay or this node is never routed (lesson 1). The peer itself
   * stays configured, so without an Event nobody would learn why part of it is unreachable: one per prefix.
   */
  private async reportProtectedRoutes(desired: DesiredNode): Promise<void> {
    const current = new Set<string>();
    for (const w of desired.withheldRoutes) {
      if (w.reason !== 'covers a protected address') continue;
      const id = `${w.name} ${w.prefix}`;
      current.add(id);
      if (this.reportedWithheld.has(id)) continue;
      this.reportedWithheld.add(id);
      this.deps.log.warn(
        { event: 'route-withheld', peer: w.name, prefix: w.prefix, reason: w.reason },
        'route withheld',
      );
      const peer = this.deps.peers.get(w.name);
      if (peer)
        await this.deps.kube.recordEvent(
          peer,
          'Warning',
          'RouteWithheld',
          `${w.prefix} not routed by ${this.options.nodeName}: it ${w.reason} (API server, relay or this node)`,
        );
    }
    for (const id of [...this.reportedWithheld]) if (!current.has(id)) this.reportedWithheld.delete(id);
  }

  /**
   * Writes the own status when it changed (throttled, status/throttle.ts). The patch is computed against the
   * status the API server has, with nulls for keys that went away: a merge patch naming only the current keys
   * would keep a deleted peer in peerTransports forever (issue 11.6).
   */
  private async writeStatus(
    desired: DesiredNode,
    observed: ReadonlyMap<string, ObservedPeer>,
    self: WireKubePeer | undefined,
  ): Promise<void> {
    if (!self) return;
    const { state } = this;
    const status = computeStatus({
      desired,
      observed,
      natType: state.nat.natType,
      ...(this.deps.path ? { transports: this.deps.path.transports(desired, observed) } : {}),
      ...(state.endpoint
        ? { endpointDiscoveryMethod: state.endpoint.method as EndpointDiscoveryMethod }
        : {}),
    });
    const now = this.deps.now();
    const previous = this.writtenStatus ?? (self.status ? { status: self.status, atMs: 0 } : undefined);
    if (!statusWriteDue(previous, status, now)) return;
    const patch = mergePatchFor(self.status, status);
    try {
      if (patch) await this.deps.kube.patchPeerStatus(this.selfName, patch);
      this.writtenStatus = { status, atMs: now };
    } catch (error) {
      this.deps.metrics.errors.inc({ component: 'kube' });
      this.deps.log.warn(
        { event: 'status-write-failed', peer: this.selfName, err: errorMessage(error) },
        'status write failed',
      );
    }
  }

  private observeMetrics(desired: DesiredNode, observed: ReadonlyMap<string, ObservedPeer>): void {
    const { metrics } = this.deps;
    const connected = new Set(desired.connected);
    const now = this.deps.now();
    const transports = this.deps.path?.transports(desired, observed);
    metrics.observePeers(
      desired.device.peers.map((p) => {
        const o = observed.get(p.publicKey);
        const handshake = o?.lastHandshakeMs;
        return {
          name: p.name,
          connected: connected.has(p.name),
          transport: transports?.get(p.name) ?? ('direct' as const),
          ...(handshake ? { handshakeAgeSeconds: Math.max(0, (now - handshake) / 1000) } : {}),
          rxBytes: o?.rxBytes ?? 0,
          txBytes: o?.txBytes ?? 0,
        };
      }),
    );
    metrics.peers.set({ state: 'configured' }, desired.device.peers.length);
    metrics.peers.set({ state: 'passive' }, desired.passive.length);
    metrics.peers.set({ state: 'skipped' }, desired.skipped.length);
  }
}

export interface AgentLoopOptions {
  log: Logger;
  metrics: AgentMetrics;
  readbackIntervalMs?: number;
  debounceMs?: number;
  clock?: Clock;
  /** Default: 1 s doubling up to the read-back interval. */
  backoff?: Backoff;
}

/** The ReconcileLoop that drives an AgentReconciler, with the agent's metrics as its outcome sink. */
export function newAgentLoop(reconciler: Reconciler, options: AgentLoopOptions): ReconcileLoop {
  const { metrics } = options;
  const readback = options.readbackIntervalMs ?? DEFAULT_READBACK_INTERVAL_MS;
  return new ReconcileLoop({
    name: 'agent',
    reconciler,
    log: options.log,
    ...(options.debounceMs !== undefined ? { debounceMs: options.debounceMs } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    // A failed pass is retried no later than the next read-back would have run it.
    backoff: options.backoff ?? new Backoff(Math.min(1_000, readback), readback),
    outcomes: {
      observe: (result, seconds) => {
        metrics.reconciles.inc({ result });
        metrics.reconcileDuration.observe(seconds);
        if (result === 'error') metrics.errors.inc({ component: 'reconcile' });
      },
    },
  });
}
