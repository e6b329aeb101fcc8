import { isIP } from 'node:net';
import {
  ANNOTATIONS,
  type NatType,
  type PeerTransport,
  type ResolvedMeshSpec,
  type WireKubePeer,
} from '@wirekube/crd-types';
import {
  type Clock,
  errorMessage,
  ReconcileLoop,
  type ReconcileResult,
  type Reconciler,
  systemClock,
} from '@wirekube/kube-runtime';
import { formatIp, tryParseEndpoint } from '@wirekube/netlink';
import type { Logger } from 'pino';
import type { DeviceSnapshot } from '../dataplane/types.js';
import type { DesiredNode, ObservedPeer } from '../plan/types.js';
import { type LivenessProber, Prober } from '../probe/prober.js';
import { type LivenessResponder, ProbeResponder } from '../probe/responder.js';
import { RelayConnection, type RelayLink } from '../relay/connection.js';
import type { RelayServiceReader } from '../relay/services.js';
import { managedTarget, needsNodeAddresses, type RelayTarget, relayLookup } from '../relay/target.js';
import { reachability } from './eligibility.js';
import { peerTransports, withPaths } from './endpoints.js';
import type { PathMetrics } from './metrics.js';
import { type PathChange, type PathPeer, PathSelector, type SelectorInput } from './selector.js';
import type { PathTimers, ProbeResult, ProxyActivity, Reachability } from './types.js';

/** The managed relay's Service is read again this often (it changes when a load balancer gets its address). */
const SERVICE_REFRESH_MS = 30_000;
/** Until the Service says where the relay is (a load balancer still pending), it is read this often. */
const SERVICE_RETRY_MS = 5_000;
/** While a relay is configured, its readiness is looked at at least this often. */
const RELAY_POLL_MS = 1_000;
const IDLE_POLL_MS = 5_000;
/** A probe still unanswered after this may be followed by another (the first may have died at a NAT). */
const REPROBE_IN_FLIGHT_MS = 250;

/** What the agent's reconcile pass knows, handed over once per pass. */
export interface PathContext {
  mesh: ResolvedMeshSpec;
  /** The plan before path selection (endpoints as published). */
  desired: DesiredNode;
  peers: readonly WireKubePeer[];
  self?: WireKubePeer;
  /** This node's public IP (its endpoint's address), and its own addresses. */
  publicIP?: string;
  hostAddresses: readonly string[];
  natType: NatType;
  /** WireGuard's per-peer state read this pass: a peer first seen already on its proxy is adopted as relayed. */
  observed?: ReadonlyMap<string, ObservedPeer>;
}

export interface PathControllerOptions {
  publicKey: string;
  privateKey: string;
  log: Logger;
  metrics: PathMetrics;
  readDevice(name: string): Promise<DeviceSnapshot | undefined>;
  /** Runs the agent's apply with the current path decisions; resolves once it has. */
  requestApply(): Promise<void>;
  /** A peer moved between direct and relay (the agent records an Event). */
  onChange(change: PathChange): void;
  services?: RelayServiceReader;
  relayService: { namespace: string; name: string };
  /** The clock of the sampling loop, and `now` unless that is given. */
  clock?: Clock;
  /** Wall-clock milliseconds (the upgrade slots are computed from it on both nodes). */
  now?: () => number;
  /** Tests substitute the relay and the probe pieces. */
  relay?: RelayLink;
  prober?: LivenessProber;
  responder?: LivenessResponder;
}

/**
 * Wires path selection to the node: the relay connection and proxy, the probe responder and prober, and a
 * sampling loop (a ReconcileLoop whose requeue-after is the machines' earliest wake-up) that reads WireGuard's
 * per-peer state, steps every peer's machine and asks the agent to apply when an endpoint must move.
 */
export class PathController implements Reconciler {
  private readonly selector = new PathSelector();
  private readonly relay: RelayLink;
  private readonly prober: LivenessProber;
  private readonly responder: LivenessResponder;
  private readonly probes = new Map<string, ProbeResult>();
  /** When the newest unanswered probe per peer was sent. */
  private readonly inFlight = new Map<string, number>();
  private readonly loop: ReconcileLoop;
  private readonly now: () => number;
  private context?: {
    mesh: ResolvedMeshSpec;
    input: Omit<SelectorInput, 'observed' | 'relayReady' | 'probes'>;
  };
  private target?: RelayTarget;
  private service?: { key: string; atMs: number; target?: RelayTarget };
  private protectedKey = '';
  /** Until the first prepare(): the target beforePlan() found (prepare() owns `target` and its log line). */
  private earlyTarget?: RelayTarget;
  private prepared = false;

  constructor(private readonly options: PathControllerOptions) {
    const clock = options.clock ?? systemClock;
    this.now = options.now ?? (() => clock.now());
    this.relay =
      options.relay ??
      new RelayConnection({
        publicKey: options.publicKey,
        privateKey: options.privateKey,
        log: options.log,
      });
    this.prober = options.prober ?? new Prober({ now: this.now });
    this.responder = options.responder ?? new ProbeResponder(options.log);
    this.loop = new ReconcileLoop({ name: 'path', reconciler: this, log: options.log, debounceMs: 0, clock });
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    this.prober.close();
    await this.responder.close();
    await this.relay.close();
  }

  /**
   * Before the agent's first plan(): where the relay is, and what a relay-link that outlived the previous agent
   * already knows of it. Without this the first pass after a restart planned neither the relay's protect rule
   * (198) nor the loopback exception, removed both, and put them back one pass later.
   */
  async beforePlan(mesh: ResolvedMeshSpec): Promise<void> {
    if (this.prepared) return;
    this.earlyTarget = await this.relayTarget(mesh);
    try {
      await this.relay.refresh?.();
    } catch (error) {
      this.options.log.debug(
        { event: 'relay-refresh-failed', err: errorMessage(error) },
        'relay view not refreshed',
      );
    }
  }

  /** True while a relay proxy is open on loopback: plan() then asks for the seed's loopback exception rule. */
  relayProxyOpen(): boolean {
    return this.currentTarget() !== undefined;
  }

  /** Addresses of the relay: never routed into the tunnel (DESIGN.md lesson 1). */
  protectedAddresses(): string[] {
    const out = new Set(this.relay.addresses);
    const target = this.currentTarget();
    if (target && isIP(target.host)) out.add(target.host);
    return [...out].sort();
  }

  private currentTarget(): RelayTarget | undefined {
    return this.prepared ? this.target : this.earlyTarget;
  }

  /**
   * Called by the agent's reconcile pass, after plan() and before apply: brings the relay connection, the proxy
   * sockets and the probe responder in line with the mesh, and returns the plan with path-selected endpoints.
   */
  async prepare(ctx: PathContext): Promise<DesiredNode> {
    const { log } = this.options;
    const target = await this.relayTarget(ctx.mesh);
    if (targetKey(target) !== targetKey(this.target)) {
      // The connection itself may be opened in the relay-link process (its own log): say here what was asked.
      log.info(
        target
          ? {
              event: 'relay-target-set',
              host: target.host,
              port: target.port,
              source: target.source,
              pool: target.pool,
            }
          : { event: 'relay-target-set', host: null },
        target ? 'relay target set' : 'no relay target',
      );
    }
    this.target = target;
    this.prepared = true;
    this.earlyTarget = undefined;
    const peerKeys = ctx.desired.device.peers.map((p) => p.publicKey);
    try {
      await this.relay.set({
        ...(this.target ? { target: this.target } : {}),
        peers: peerKeys,
        wireguardPort: ctx.mesh.listenPort,
      });
    } catch (error) {
      log.warn({ event: 'relay-set-failed', err: errorMessage(error) }, 'cannot set up the relay connection');
    }
    const ownAddress = hostOf(ctx.self?.spec.allowedIPs?.[0]);
    await this.responder.set(ownAddress);
    this.context = { mesh: ctx.mesh, input: this.selectorInput(ctx) };
    const protectedKey = this.protectedAddresses().join(',');
    if (protectedKey !== this.protectedKey) {
      // The relay's addresses feed plan()'s protected set: one more pass takes them into account.
      this.protectedKey = protectedKey;
      queueMicrotask(() => void this.options.requestApply());
    }
    const input = this.fullInput(ctx.observed);
    const nowMs = this.now();
    const peersByKey = new Map(this.context.input.peers.map((p) => [p.publicKey, p]));
    return withPaths(
      ctx.desired,
      (peer) => {
        const pathPeer = peersByKey.get(peer.publicKey);
        return pathPeer && input ? this.selector.use(pathPeer, input, nowMs) : undefined;
      },
      (key) => this.relay.proxyEndpoint(key),
    );
  }

  /** The transport each peer really uses, for status and metrics. */
  transports(desired: DesiredNode, observed: ReadonlyMap<string, ObservedPeer>): Map<string, PeerTransport> {
    return peerTransports(
      desired.device.peers,
      observed,
      (key) => this.relay.proxyEndpoint(key),
      this.now(),
      (key) => {
        // Still trying direct: only a handshake since the attempt began proves the path.
        const state = this.selector.state(key);
        const handshake = observed.get(key)?.lastHandshakeMs ?? 0;
        return state?.kind === 'trying' && !state.upgradeFrom && handshake < state.sinceMs;
      },
    );
  }

  /** One sampling pass (the ReconcileLoop calls it; its answer schedules the next one). */
  async reconcile(): Promise<ReconcileResult> {
    const { log, metrics } = this.options;
    const configured = this.target !== undefined;
    if (!this.context) return { requeueAfterMs: IDLE_POLL_MS };
    try {
      await this.relay.refresh?.();
    } catch (error) {
      log.debug({ event: 'relay-refresh-failed', err: errorMessage(error) }, 'relay view not refreshed');
    }
    metrics.relayState(configured, this.relay.ready);
    const device = await this.options.readDevice(this.context.mesh.interfaceName);
    const observed = new Map((device?.peers ?? []).map((p) => [p.publicKey, p]));
    const input = this.fullInput(observed);
    if (!input) return { requeueAfterMs: IDLE_POLL_MS };
    const nowMs = this.now();
    const step = this.selector.step(input, nowMs);
    for (const change of step.changes) {
      metrics.pathChanged(change.reason, change.to);
      log.info(
        { event: 'path-changed', peer: change.peer, from: change.from, to: change.to, reason: change.reason },
        'peer path changed',
      );
      this.options.onChange(change);
    }
    if (step.applyNeeded) await this.options.requestApply();
    for (const probe of step.probes) this.sendProbe(probe.publicKey, probe.address);
    metrics.proxySample(this.proxySamples(input.peers));
    const wake = step.wakeAtMs !== undefined ? step.wakeAtMs - this.now() : IDLE_POLL_MS;
    const cap = configured ? RELAY_POLL_MS : IDLE_POLL_MS;
    return { requeueAfterMs: Math.max(20, Math.min(wake, cap)) };
  }

  private sendProbe(publicKey: string, address: string): void {
    const sentAtMs = this.now();
    const pending = this.inFlight.get(publicKey);
    if (pending !== undefined && sentAtMs - pending < REPROBE_IN_FLIGHT_MS) return;
    this.inFlight.set(publicKey, sentAtMs);
    void this.prober.probe(address).then((result) => {
      if (this.inFlight.get(publicKey) === result.sentAtMs) this.inFlight.delete(publicKey);
      // The newest probe's answer counts: a slow timeout of an older one must not hide it.
      const known = this.probes.get(publicKey);
      if (!known || result.sentAtMs >= known.sentAtMs) this.probes.set(publicKey, result);
      this.options.metrics.probe(result.ok, result.rttMs);
      this.loop.trigger('probe');
    });
  }

  private proxySamples(peers: readonly PathPeer[]): Map<string, { rxBytes: number; txBytes: number }> {
    const out = new Map<string, { rxBytes: number; txBytes: number }>();
    for (const peer of peers) {
      const c = this.relay.proxyCounters(peer.publicKey);
      if (c) out.set(peer.publicKey, { rxBytes: c.rxBytes, txBytes: c.txBytes });
    }
    return out;
  }

  private fullInput(observed?: ReadonlyMap<string, ObservedPeer>): SelectorInput | undefined {
    if (!this.context) return undefined;
    return {
      ...this.context.input,
      relayReady: this.relay.ready,
      observed: observed ?? new Map(),
      probes: this.probes,
    };
  }

  private selectorInput(ctx: PathContext): Omit<SelectorInput, 'observed' | 'relayReady' | 'probes'> {
    const byName = new Map(ctx.peers.map((p) => [p.metadata.name ?? '', p]));
    const local = reachability(ctx.natType, ctx.publicIP, ctx.hostAddresses);
    const peers: PathPeer[] = ctx.desired.device.peers.map((desired) => {
      const object = byName.get(desired.name);
      const published = object?.spec.endpoint ? tryParseEndpoint(object.spec.endpoint) : undefined;
      const publishedIP = published ? formatIp(published.bytes) : undefined;
      const internalText = object?.metadata.annotations?.[ANNOTATIONS.internalEndpoint];
      const internal = internalText ? tryParseEndpoint(internalText) : undefined;
      const remote: Reachability = reachability(
        object?.status?.natType,
        publishedIP,
        internal ? [formatIp(internal.bytes)] : [],
      );
      const probeAddress = hostOf(desired.allowedIPs[0]);
      return {
        name: desired.name,
        publicKey: desired.publicKey,
        remote,
        sameLan: publishedIP !== undefined && publishedIP === ctx.publicIP,
        ...(probeAddress ? { probeAddress } : {}),
      };
    });
    return {
      timers: timersOf(ctx.mesh),
      localKey: this.options.publicKey,
      local,
      peers,
      proxyEndpoint: (key) => this.relay.proxyEndpoint(key),
      proxyActivity: (key) => this.proxyActivity(key),
    };
  }

  private proxyActivity(publicKey: string): ProxyActivity | undefined {
    const c = this.relay.proxyCounters(publicKey);
    // A datagram the proxy dropped (relay not ready, queue full) still left WireGuard towards the relay.
    return c ? { txPackets: c.txPackets + c.txDrops, rxPackets: c.rxPackets } : undefined;
  }

  /** The relay to connect to, or none (mode never, no provider, or not locatable yet: logged). */
  private async relayTarget(mesh: ResolvedMeshSpec): Promise<RelayTarget | undefined> {
    const { log } = this.options;
    const lookup = relayLookup(mesh, this.options.relayService);
    if (lookup.kind === 'none') return undefined;
    if (lookup.kind === 'external') return lookup.target;
    if (lookup.kind === 'invalid') {
      log.warn({ event: 'relay-invalid', field: lookup.error.field, err: lookup.error.message }, 'no relay');
      return undefined;
    }
    const key = `${lookup.namespace}/${lookup.name}`;
    const nowMs = this.now();
    const refreshMs = this.service?.target ? SERVICE_REFRESH_MS : SERVICE_RETRY_MS;
    if (this.service?.key === key && nowMs - this.service.atMs < refreshMs) return this.service.target;
    const services = this.options.services;
    let target: RelayTarget | undefined;
    if (!services) {
      log.warn({ event: 'relay-no-service-reader', service: key }, 'managed relay: no Kubernetes reader');
    } else {
      try {
        const service = await services.getService(lookup.namespace, lookup.name);
        const nodes = needsNodeAddresses(service) ? await services.listNodes() : [];
        target = managedTarget(service, nodes);
      } catch (error) {
        const field = (error as { field?: string }).field;
        log.warn(
          { event: 'relay-not-located', service: key, ...(field ? { field } : {}), err: errorMessage(error) },
          'managed relay not locatable yet',
        );
        // Keep the last good target through a failed read (the API server may be briefly unreachable).
        target = this.service?.key === key ? this.service.target : undefined;
      }
    }
    this.service = { key, atMs: nowMs, ...(target ? { target } : {}) };
    return target;
  }
}

function targetKey(target: RelayTarget | undefined): string {
  return target ? `${target.host}:${target.port}/${target.pool}/${target.source}` : '';
}

function timersOf(mesh: ResolvedMeshSpec): PathTimers {
  return {
    mode: mesh.relay.mode,
    handshakeTimeoutMs: mesh.relay.handshakeTimeoutSeconds * 1000,
    directRetryIntervalMs: mesh.relay.directRetryIntervalSeconds * 1000,
  };
}

function hostOf(prefix: string | undefined): string | undefined {
  if (!prefix) return undefined;
  const host = prefix.split('/')[0];
  return host && isIP(host) ? host : undefined;
}
