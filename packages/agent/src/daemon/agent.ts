import {
  DEFAULT_MESH_NAME,
  type EndpointDiscoveryMethod,
  peerNameForNode,
  type ResolvedMeshSpec,
  resolveMeshSpec,
  validate,
  type WireKubeMesh,
  type WireKubePeer,
} from '@wirekube/crd-types';
import { formatIp, tryParseEndpoint } from '@wirekube/netlink';
import type { Logger } from 'pino';
import type { Dataplane } from '../dataplane/types.js';
import { summaryChanged } from '../dataplane/types.js';
import { discoverEndpoint } from '../endpoint/discover.js';
import type { Endpoint, EndpointSource } from '../endpoint/types.js';
import type { HealthSource } from '../http/server.js';
import type { AgentKubeApi } from '../kube/api.js';
import { ResilientInformer } from '../kube/informer.js';
import type { AgentMetrics } from '../metrics/metrics.js';
import { type NatProbeResult, probeNat, type StunQuery } from '../nat/probe.js';
import { PathController } from '../path/controller.js';
import { PathMetrics } from '../path/metrics.js';
import type { PathChange } from '../path/selector.js';
import { plan } from '../plan/plan.js';
import type { DesiredNode, ObservedPeer } from '../plan/types.js';
import type { RelayServiceReader } from '../relay/services.js';
import { computeStatus } from '../status/compute.js';
import { statusWriteDue, type WrittenStatus } from '../status/throttle.js';
import { Backoff, sleep } from '../util/backoff.js';
import { newOwnPeer, type OwnPeerFacts, ownPeerPatch } from './own-peer.js';

export interface AgentConfig {
  nodeName: string;
  meshName?: string;
  /** How often WireGuard's state is read back and re-reconciled (handshakes move routes and status). */
  reconcileIntervalMs?: number;
  /** How often the NAT type and the endpoint are checked again. */
  natRecheckIntervalMs?: number;
  persistentKeepalive?: number;
  /** On first creation of the own WireKubePeer only: seed allowedIPs with the node's InternalIP/32. */
  initAllowedIPs?: boolean;
  /** Never routed into the tunnel: the API server, relays (DESIGN.md lesson 1). Own addresses are added. */
  protectedAddresses?: string[];
  /** The managed relay's Service (`--namespace`, `--relay-service`). */
  relayService?: { namespace: string; name: string };
}

export interface KeySource {
  load(): Promise<{ privateKey: string; publicKey: string; created: boolean }>;
}

export interface AgentDeps {
  kube: AgentKubeApi;
  dataplane: Dataplane;
  stun: StunQuery;
  endpointSources: readonly EndpointSource[];
  keys: KeySource;
  log: Logger;
  metrics: AgentMetrics;
  now?: () => number;
  /** Reads the managed relay's Service; without it only `provider: external` relays are used. */
  relayServices?: RelayServiceReader;
}

interface NodeFacts {
  uid?: string;
  annotations: Record<string, string>;
  addresses: Array<{ type: string; address: string }>;
}

/**
 * The per-node daemon's lifecycle: keys, interface (adopted when the key matches), NAT type and endpoint, its
 * own WireKubePeer, then a level-triggered reconcile loop driven by watches (with a timer only to read
 * WireGuard's handshakes back). Shutdown releases user-space resources only: the interface, routes and keys
 * stay, so direct tunnels keep forwarding while the agent restarts (seed, node management).
 */
export class Agent implements HealthSource {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly selfName: string;
  private readonly stopController = new AbortController();
  private meshInformer?: ResilientInformer<WireKubeMesh>;
  private peerInformer?: ResilientInformer<WireKubePeer>;
  private keys?: { privateKey: string; publicKey: string; created: boolean };
  private mesh?: ResolvedMeshSpec;
  private node: NodeFacts = { annotations: {}, addresses: [] };
  private nat: NatProbeResult = { observations: [], portInUse: false, natType: '' };
  private endpoint?: Endpoint;
  private hostAddresses: string[] = [];
  private writtenStatus?: WrittenStatus;
  private readonly reportedSkips = new Map<string, string>();
  private running?: Promise<void>;
  private dirty = false;
  private debounce?: NodeJS.Timeout;
  private readonly timers: NodeJS.Timeout[] = [];
  private reconciledOnce = false;
  /** Reconciles wait until start-up has settled the interface; watch events before that are folded in. */
  private acceptingReconciles = false;
  private stopping = false;
  private path?: PathController;
  private readonly pathMetrics: PathMetrics;
  /** The last plan, for status, metrics and tests. */
  lastDesired?: DesiredNode;
  /** How the interface was obtained at start-up. */
  interfaceOutcome?: 'adopted' | 'created' | 'recreated';

  constructor(
    private readonly config: AgentConfig,
    private readonly deps: AgentDeps,
  ) {
    this.log = deps.log.child({ node: config.nodeName });
    this.now = deps.now ?? Date.now;
    this.selfName = peerNameForNode(config.nodeName);
    this.pathMetrics = new PathMetrics(deps.metrics.registry);
  }

  async start(): Promise<void> {
    const { dataplane } = this.deps;
    this.keys = await this.deps.keys.load();
    this.log.info({ publicKey: this.keys.publicKey, created: this.keys.created }, 'keys loaded');
    const meshObject = await this.waitForMesh();
    if (!meshObject) return;
    this.mesh = resolveMeshSpec(meshObject.spec);
    await this.startInformers();
    this.node = await this.readNode();
    this.interfaceOutcome = await this.ensureInterface(this.mesh);
    this.hostAddresses = await dataplane.hostAddresses(this.mesh.interfaceName);
    await this.refreshEndpoint();
    this.path = this.createPath();
    this.acceptingReconciles = true;
    await this.reconcileNow();
    this.path.start();
    const interval = this.config.reconcileIntervalMs ?? 5_000;
    this.timers.push(setInterval(() => void this.reconcileNow(), interval));
    const natInterval = this.config.natRecheckIntervalMs ?? 300_000;
    this.timers.push(setInterval(() => void this.recheckEndpoint(), natInterval));
    this.log.info(
      { backend: dataplane.backend, interface: this.mesh.interfaceName, outcome: this.interfaceOutcome },
      'agent started',
    );
  }

  /** Releases watches and timers. Never touches the interface, routes, rules or keys. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopController.abort();
    clearTimeout(this.debounce);
    for (const t of this.timers) clearInterval(t);
    await Promise.all([this.meshInformer?.stop(), this.peerInformer?.stop()]);
    await this.running?.catch(() => undefined);
    await this.path?.stop();
    this.log.info('agent stopped; interface, routes and keys left in place');
  }

  live(): boolean {
    return !this.stopping;
  }

  ready(): { ready: boolean; reason?: string } {
    if (this.stopping) return { ready: false, reason: 'shutting down' };
    if (!this.mesh) return { ready: false, reason: `waiting for WireKubeMesh ${this.meshName()}` };
    if (!this.reconciledOnce) return { ready: false, reason: 'first reconcile pending' };
    return { ready: true };
  }

  /** Runs a reconcile now; concurrent requests fold into one more pass after the current one (level-triggered). */
  reconcileNow(): Promise<void> {
    if (this.stopping || !this.acceptingReconciles) return Promise.resolve();
    if (this.running) {
      this.dirty = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.dirty = false;
        await this.reconcileOnce();
      } while (this.dirty && !this.stopping);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Path selection (relay connection, probes, per-peer machines); it applies through reconcileNow. */
  private createPath(): PathController {
    return new PathController({
      publicKey: this.keys!.publicKey,
      privateKey: this.keys!.privateKey,
      log: this.log.child({ component: 'path' }),
      metrics: this.pathMetrics,
      readDevice: (name) => this.deps.dataplane.readDevice(name),
      requestApply: () => this.reconcileNow(),
      onChange: (change) => void this.pathChanged(change),
      relayService: this.config.relayService ?? { namespace: 'wirekube-system', name: 'wirekube-relay' },
      ...(this.deps.relayServices ? { services: this.deps.relayServices } : {}),
      now: this.now,
    });
  }

  private async pathChanged(change: PathChange): Promise<void> {
    const self = this.peerInformer?.get(this.selfName);
    if (!self) return;
    const reason = change.to === 'relay' ? 'PathRelayed' : 'PathDirect';
    await this.event(
      self,
      'Normal',
      reason,
      `${change.peer}: ${change.from} → ${change.to} (${change.reason})`,
    );
  }

  private meshName(): string {
    return this.config.meshName ?? DEFAULT_MESH_NAME;
  }

  private requestReconcile(): void {
    clearTimeout(this.debounce);
    // A burst of watch events (an informer re-list, many agents starting) becomes one pass.
    this.debounce = setTimeout(() => void this.reconcileNow(), 100);
  }

  /** Waits with backoff while the mesh is missing, instead of guessing defaults for it. */
  private async waitForMesh(): Promise<WireKubeMesh | undefined> {
    const backoff = new Backoff(1_000, 30_000);
    for (;;) {
      if (this.stopping) return undefined;
      try {
        const mesh = await this.deps.kube.getMesh(this.meshName());
        if (mesh) return mesh;
        const delay = backoff.next();
        this.log.warn({ mesh: this.meshName(), retryInMs: delay }, 'WireKubeMesh not found; waiting');
        await sleep(delay, this.stopController.signal);
      } catch (error) {
        const delay = backoff.next();
        this.deps.metrics.errors.inc({ component: 'kube' });
        this.log.warn(
          { err: (error as Error).message, retryInMs: delay },
          'cannot read WireKubeMesh; retrying',
        );
        await sleep(delay, this.stopController.signal);
      }
    }
  }

  private async startInformers(): Promise<void> {
    const { kube } = this.deps;
    this.meshInformer = new ResilientInformer({
      name: 'wirekubemeshes',
      informer: kube.meshInformer(),
      log: this.log,
      onChange: (_verb, mesh) => {
        if (mesh.metadata.name === this.meshName()) this.onMeshChange(mesh);
      },
    });
    this.peerInformer = new ResilientInformer({
      name: 'wirekubepeers',
      informer: kube.peerInformer(),
      log: this.log,
      onChange: () => this.requestReconcile(),
    });
    await Promise.all([this.meshInformer.start(), this.peerInformer.start()]);
  }

  private onMeshChange(mesh: WireKubeMesh): void {
    const errors = validate('WireKubeMesh', mesh);
    if (errors.length > 0) {
      this.log.error(
        { mesh: mesh.metadata.name, errors },
        'WireKubeMesh is invalid; keeping the previous settings',
      );
      return;
    }
    const next = resolveMeshSpec(mesh.spec);
    if (this.mesh && next.interfaceName !== this.mesh.interfaceName) {
      this.log.warn(
        { from: this.mesh.interfaceName, to: next.interfaceName },
        'interfaceName changed; restart the agent to move to the new interface',
      );
      next.interfaceName = this.mesh.interfaceName;
    }
    this.mesh = next;
    this.requestReconcile();
  }

  private async readNode(): Promise<NodeFacts> {
    try {
      const node = await this.deps.kube.getNode(this.config.nodeName);
      if (!node) {
        this.log.warn('Node object not found; the WireKubePeer will have no owner');
        return { annotations: {}, addresses: [] };
      }
      return {
        ...(node.metadata?.uid ? { uid: node.metadata.uid } : {}),
        annotations: node.metadata?.annotations ?? {},
        addresses: (node.status?.addresses ?? []).map((a) => ({ type: a.type, address: a.address })),
      };
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'cannot read the Node object');
      return { annotations: {}, addresses: [] };
    }
  }

  /**
   * Seed: an interface whose key matches is reused as-is (no flap); a mismatch is torn down and recreated.
   * STUN runs before creation, while the WireGuard port is still free.
   */
  private async ensureInterface(mesh: ResolvedMeshSpec): Promise<'adopted' | 'created' | 'recreated'> {
    const { dataplane } = this.deps;
    const existing = await dataplane.readDevice(mesh.interfaceName);
    if (existing && existing.publicKey === this.keys!.publicKey) {
      this.nat = await probeNat(this.deps.stun, mesh.stunServers, mesh.listenPort, true);
      return 'adopted';
    }
    if (existing) {
      this.log.warn(
        { interface: mesh.interfaceName, found: existing.publicKey ?? null },
        'interface key does not match the key file; recreating it',
      );
      await dataplane.deleteDevice(mesh.interfaceName);
    }
    this.nat = await probeNat(this.deps.stun, mesh.stunServers, mesh.listenPort, false);
    await dataplane.createDevice(mesh.interfaceName, mesh.mtu);
    return existing ? 'recreated' : 'created';
  }

  private async recheckEndpoint(): Promise<void> {
    if (!this.mesh || this.stopping) return;
    try {
      this.nat = await probeNat(this.deps.stun, this.mesh.stunServers, this.mesh.listenPort, true);
      this.node = await this.readNode();
      this.hostAddresses = await this.deps.dataplane.hostAddresses(this.mesh.interfaceName);
      await this.refreshEndpoint();
      await this.reconcileNow();
    } catch (error) {
      this.deps.metrics.errors.inc({ component: 'endpoint' });
      this.log.warn({ err: (error as Error).message }, 'endpoint re-check failed');
    }
  }

  /** Discovers the endpoint and makes the own WireKubePeer say so (creating it on first start). */
  private async refreshEndpoint(): Promise<void> {
    const mesh = this.mesh!;
    const current = this.peerInformer?.get(this.selfName) ?? (await this.deps.kube.getPeer(this.selfName));
    const previous: Partial<Endpoint> = {};
    if (current?.spec.endpoint) previous.endpoint = current.spec.endpoint;
    if (current?.status?.endpointDiscoveryMethod) previous.method = current.status.endpointDiscoveryMethod;
    let found: Endpoint | undefined;
    try {
      found = await discoverEndpoint(
        this.deps.endpointSources,
        {
          listenPort: mesh.listenPort,
          nodeAnnotations: this.node.annotations,
          nodeAddresses: this.node.addresses,
          hostAddresses: this.hostAddresses,
          stun: this.nat,
          ...(previous.endpoint ? { previous } : {}),
        },
        this.log,
      );
    } catch (error) {
      this.deps.metrics.errors.inc({ component: 'endpoint' });
      this.log.error(
        { err: (error as Error).message },
        'no endpoint discovered; peers must reach this node first',
      );
    }
    const before = this.endpoint;
    this.endpoint = found;
    this.deps.metrics.setNatType(this.nat.natType);
    const facts = this.ownFacts(found);
    const peer = await this.ensureOwnPeer(current, facts);
    if (peer && found && before?.endpoint !== found.endpoint && current?.spec.endpoint !== found.endpoint) {
      await this.event(
        peer,
        'Normal',
        'EndpointChanged',
        `endpoint ${found.endpoint} (discovered by ${found.method})`,
      );
    }
    const previousNat = current?.status?.natType;
    if (peer && previousNat !== undefined && previousNat !== this.nat.natType) {
      await this.event(
        peer,
        'Normal',
        'NATTypeChanged',
        `NAT type ${previousNat || 'unknown'} → ${this.nat.natType || 'unknown'}`,
      );
    }
  }

  private ownFacts(found: Endpoint | undefined): OwnPeerFacts {
    const mesh = this.mesh!;
    const internalIP =
      this.node.addresses.find((a) => a.type === 'InternalIP')?.address ??
      this.hostAddresses.find((a) => !a.includes(':'));
    const facts: OwnPeerFacts = {
      nodeName: this.config.nodeName,
      publicKey: this.keys!.publicKey,
      persistentKeepalive: this.config.persistentKeepalive ?? 25,
    };
    if (this.node.uid) facts.nodeUid = this.node.uid;
    if (found) facts.endpoint = found.endpoint;
    if (internalIP) facts.internalEndpoint = `${internalIP}:${mesh.listenPort}`;
    if (this.config.initAllowedIPs !== false && internalIP) facts.initialAllowedIPs = [`${internalIP}/32`];
    return facts;
  }

  private async ensureOwnPeer(
    current: WireKubePeer | undefined,
    facts: OwnPeerFacts,
  ): Promise<WireKubePeer | undefined> {
    const { kube } = this.deps;
    try {
      if (!current) {
        const created = await kube.createPeer(newOwnPeer(facts));
        this.log.info({ peer: this.selfName, endpoint: facts.endpoint }, 'created own WireKubePeer');
        return created;
      }
      const patch = ownPeerPatch(current, facts);
      if (!patch) return current;
      const patched = await kube.patchPeer(this.selfName, patch);
      this.log.info({ peer: this.selfName, patch }, 'updated own WireKubePeer');
      return patched;
    } catch (error) {
      this.deps.metrics.errors.inc({ component: 'kube' });
      this.log.error({ peer: this.selfName, err: (error as Error).message }, 'cannot write own WireKubePeer');
      return current;
    }
  }

  private async reconcileOnce(): Promise<void> {
    const { dataplane, metrics } = this.deps;
    const mesh = this.mesh;
    if (!mesh || !this.keys || !this.peerInformer) return;
    const endTimer = metrics.reconcileDuration.startTimer();
    try {
      let device = await dataplane.readDevice(mesh.interfaceName);
      if (!device) {
        // Someone deleted the interface: recreate it, then the apply below restores peers, routes and rules.
        this.log.warn({ interface: mesh.interfaceName }, 'interface missing; recreating');
        await dataplane.createDevice(mesh.interfaceName, mesh.mtu);
        device = await dataplane.readDevice(mesh.interfaceName);
      }
      const observed = new Map<string, ObservedPeer>((device?.peers ?? []).map((p) => [p.publicKey, p]));
      const self = this.peerInformer.get(this.selfName);
      const own = this.endpoint ? tryParseEndpoint(this.endpoint.endpoint) : undefined;
      const publicIP = own ? formatIp(own.bytes) : undefined;
      const planned = plan({
        nodeName: this.config.nodeName,
        mesh,
        privateKey: this.keys.privateKey,
        publicKey: this.keys.publicKey,
        ...(self ? { self } : {}),
        peers: this.peerInformer.list(),
        observed,
        ...(publicIP ? { publicIP } : {}),
        protectedAddresses: [
          ...(this.config.protectedAddresses ?? []),
          ...this.hostAddresses,
          ...(this.path?.protectedAddresses() ?? []),
        ],
        nowMs: this.now(),
      });
      const desired = this.path
        ? await this.path.prepare({
            mesh,
            desired: planned,
            peers: this.peerInformer.list(),
            ...(self ? { self } : {}),
            ...(publicIP ? { publicIP } : {}),
            hostAddresses: this.hostAddresses,
            natType: this.nat.natType,
          })
        : planned;
      this.lastDesired = desired;
      const summary = await dataplane.apply(desired);
      if (summaryChanged(summary)) this.log.info({ summary }, 'dataplane updated');
      await this.reportSkipped(desired);
      await this.writeStatus(desired, observed, self);
      this.observeMetrics(desired, observed);
      metrics.reconciles.inc({ result: 'success' });
      this.reconciledOnce = true;
    } catch (error) {
      metrics.reconciles.inc({ result: 'error' });
      metrics.errors.inc({ component: 'reconcile' });
      this.log.error({ err: (error as Error).message }, 'reconcile failed');
    } finally {
      endTimer();
    }
  }

  /** One Event and one log line per bad peer object and reason; repeated passes stay quiet. */
  private async reportSkipped(desired: DesiredNode): Promise<void> {
    const current = new Map(desired.skipped.map((s) => [s.name, s.reason]));
    for (const [name, reason] of current) {
      if (this.reportedSkips.get(name) === reason) continue;
      this.reportedSkips.set(name, reason);
      this.log.warn({ peer: name, reason }, 'peer skipped');
      const peer = this.peerInformer?.get(name);
      if (peer)
        await this.event(peer, 'Warning', 'PeerSkipped', `skipped by ${this.config.nodeName}: ${reason}`);
    }
    for (const name of [...this.reportedSkips.keys()])
      if (!current.has(name)) this.reportedSkips.delete(name);
  }

  private async writeStatus(
    desired: DesiredNode,
    observed: ReadonlyMap<string, ObservedPeer>,
    self: WireKubePeer | undefined,
  ): Promise<void> {
    if (!self) return;
    const status = computeStatus({
      desired,
      observed,
      natType: this.nat.natType,
      ...(this.path ? { transports: this.path.transports(desired, observed) } : {}),
      ...(this.endpoint ? { endpointDiscoveryMethod: this.endpoint.method as EndpointDiscoveryMethod } : {}),
    });
    const previous = this.writtenStatus ?? (self.status ? { status: self.status, atMs: 0 } : undefined);
    if (!statusWriteDue(previous, status, this.now())) return;
    try {
      await this.deps.kube.patchPeerStatus(this.selfName, status);
      this.writtenStatus = { status, atMs: this.now() };
    } catch (error) {
      this.deps.metrics.errors.inc({ component: 'kube' });
      this.log.warn({ peer: this.selfName, err: (error as Error).message }, 'status write failed');
    }
  }

  private observeMetrics(desired: DesiredNode, observed: ReadonlyMap<string, ObservedPeer>): void {
    const { metrics } = this.deps;
    const connected = new Set(desired.connected);
    const now = this.now();
    const transports = this.path?.transports(desired, observed);
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

  private async event(
    peer: WireKubePeer,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    try {
      await this.deps.kube.recordEvent(peer, type, reason, message);
    } catch (error) {
      this.log.warn(
        { peer: peer.metadata.name, reason, err: (error as Error).message },
        'cannot record event',
      );
    }
  }
}
