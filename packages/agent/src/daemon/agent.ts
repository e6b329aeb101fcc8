import {
  DEFAULT_MESH_NAME,
  peerNameForNode,
  type ResolvedMeshSpec,
  resolveMeshSpec,
  validate,
  type WireKubeMesh,
  type WireKubePeer,
} from '@wirekube/crd-types';
import { Backoff, type Clock, type ReconcileLoop, ResilientInformer, sleep } from '@wirekube/kube-runtime';
import type { Logger } from 'pino';
import type { Dataplane } from '../dataplane/types.js';
import type { EndpointSource } from '../endpoint/types.js';
import { errorMessage } from '../errors.js';
import type { GatewayFeature } from '../gateway/feature.js';
import type { HealthSource } from '../http/server.js';
import type { AgentKubeApi } from '../kube/api.js';
import type { AgentMetrics } from '../metrics/metrics.js';
import { probeNat, type StunQuery } from '../nat/probe.js';
import { PathController } from '../path/controller.js';
import { PathMetrics } from '../path/metrics.js';
import type { PathChange } from '../path/selector.js';
import type { ProtectedAddressSource } from '../plan/protect.js';
import type { DesiredNode } from '../plan/types.js';
import type { RelayLink } from '../relay/connection.js';
import type { RelayServiceReader } from '../relay/services.js';
import { readNodeFacts } from './node-facts.js';
import { type OwnEndpointDeps, type OwnEndpointOptions, publishOwnEndpoint } from './own-endpoint.js';
import { DEFAULT_RECHECK_INTERVAL_MS, EndpointRecheck, recheckNodeEndpoint } from './recheck.js';
import { AgentReconciler, DEFAULT_READBACK_INTERVAL_MS, newAgentLoop } from './reconciler.js';
import type { AgentKeys, NodeState } from './state.js';

export interface AgentConfig {
  nodeName: string;
  meshName?: string;
  /** How often WireGuard's state is read back and re-reconciled (handshakes move routes and status). */
  reconcileIntervalMs?: number;
  /** How often the NAT type and the endpoint are checked again. */
  natRecheckIntervalMs?: number;
  /** For the own WireKubePeer when its CR has none (default 25 s); a value in the CR is the user's. */
  persistentKeepalive?: number;
  /** On first creation of the own WireKubePeer only: seed allowedIPs with the node's InternalIP/32. */
  initAllowedIPs?: boolean;
  /** Never routed into the tunnel: the API server, relays (DESIGN.md lesson 1). Own addresses are added. */
  protectedAddresses?: string[];
  /** Watch events within this window fold into one pass (default 100 ms). */
  debounceMs?: number;
  /** The managed relay's Service (`--namespace`, `--relay-service`). */
  relayService?: { namespace: string; name: string };
}

export interface KeySource {
  load(): Promise<AgentKeys>;
}

export interface AgentDeps {
  /** The WireKubeGateway feature (agent/src/gateway); absent: no gateway support. */
  gateways?: GatewayFeature;
  kube: AgentKubeApi;
  dataplane: Dataplane;
  stun: StunQuery;
  endpointSources: readonly EndpointSource[];
  keys: KeySource;
  log: Logger;
  metrics: AgentMetrics;
  /** More addresses kept on the main table, read every pass: API server EndpointSlices, relays. */
  protectedSources?: readonly ProtectedAddressSource[];
  /** Drives the reconcile loop's timers (default: the system clock). */
  clock?: Clock;
  now?: () => number;
  /** Reads the managed relay's Service; without it only `provider: external` relays are used. */
  relayServices?: RelayServiceReader;
  /** The node's relay side for its key pair (main: the relay-link process); default in-process. */
  relayLink?: (keys: AgentKeys, log: Logger) => RelayLink;
}

/**
 * The per-node daemon's lifecycle: keys, interface (adopted when the key matches), NAT type and endpoint, its
 * own WireKubePeer, watches, then a ReconcileLoop driving the AgentReconciler. Shutdown releases user-space
 * resources only: the interface, routes and keys stay, so direct tunnels keep forwarding while the agent
 * restarts (seed, node management).
 */
export class Agent implements HealthSource {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly stopController = new AbortController();
  private meshInformer?: ResilientInformer<WireKubeMesh>;
  private peerInformer?: ResilientInformer<WireKubePeer>;
  private state?: NodeState;
  private reconciler?: AgentReconciler;
  private loop?: ReconcileLoop;
  private path?: PathController;
  private pathMetrics?: PathMetrics;
  /** How the interface was obtained at start-up. */
  interfaceOutcome?: 'adopted' | 'created' | 'recreated';

  constructor(
    private readonly config: AgentConfig,
    private readonly deps: AgentDeps,
  ) {
    // main's logger already carries the node (pino would write the key twice).
    this.log =
      deps.log.bindings().node === config.nodeName ? deps.log : deps.log.child({ node: config.nodeName });
    this.now = deps.now ?? (deps.clock ? () => deps.clock!.now() : Date.now);
  }

  /** The last plan the dataplane applied. */
  get lastDesired(): DesiredNode | undefined {
    return this.reconciler?.lastApplied;
  }

  async start(): Promise<void> {
    const { dataplane } = this.deps;
    const keys = await this.deps.keys.load();
    this.log.info({ event: 'keys-loaded', publicKey: keys.publicKey, created: keys.created }, 'keys loaded');
    const meshObject = await this.waitForMesh();
    if (!meshObject) return;
    await this.startInformers();
    if (this.stopping()) return;
    // The watch's first list may be newer than the object read above.
    const watched = this.meshInformer?.get(this.meshName());
    const mesh = (watched && this.validMesh(watched)) ?? resolveMeshSpec(meshObject.spec);
    const node = await readNodeFacts(this.deps.kube, this.config.nodeName, this.log);
    const state: NodeState = {
      mesh,
      keys,
      node,
      nat: { observations: [], portInUse: false, natType: '' },
      hostAddresses: [],
    };
    this.state = state;
    const { outcome, portMoved } = await this.ensureInterface(state);
    this.interfaceOutcome = outcome;
    state.hostAddresses = await dataplane.hostAddresses(mesh.interfaceName);
    await publishOwnEndpoint(this.ownEndpointOptions(), this.ownEndpointDeps(), state, {
      trustPrevious: !portMoved,
    });
    if (this.stopping()) return;
    await this.startLoop(state);
    this.log.info(
      {
        event: 'agent-started',
        backend: dataplane.backend,
        interface: mesh.interfaceName,
        outcome: this.interfaceOutcome,
      },
      'agent started',
    );
  }

  /** Wires the re-check, the reconciler and the loop, and waits for the first pass. */
  private async startLoop(state: NodeState): Promise<void> {
    const { dataplane } = this.deps;
    const selfName = peerNameForNode(this.config.nodeName);
    const recheck = new EndpointRecheck({
      intervalMs: this.config.natRecheckIntervalMs ?? DEFAULT_RECHECK_INTERVAL_MS,
      observe: () => ({
        listenPort: state.mesh.listenPort,
        ownPeerExists: this.peerInformer?.get(selfName) !== undefined,
      }),
      run: (effect) =>
        recheckNodeEndpoint(
          {
            stun: this.deps.stun,
            dataplane,
            ownEndpoint: this.ownEndpointDeps(),
            ownEndpointOptions: this.ownEndpointOptions(),
          },
          state,
          effect,
        ),
      log: this.log,
      metrics: this.deps.metrics,
    });
    recheck.markDone(this.now(), {
      listenPort: state.mesh.listenPort,
      ...(state.endpoint ? { endpoint: state.endpoint } : {}),
      ownPeerExists: state.ownPeerPublished === true,
    });
    this.path = this.createPath(state);
    this.reconciler = new AgentReconciler(
      {
        nodeName: this.config.nodeName,
        protectedAddresses: this.config.protectedAddresses ?? [],
        readbackIntervalMs: this.readbackIntervalMs(),
      },
      {
        kube: this.deps.kube,
        dataplane,
        metrics: this.deps.metrics,
        log: this.log,
        peers: this.peerInformer!,
        recheck,
        now: this.now,
        ...(this.deps.protectedSources ? { protectedSources: this.deps.protectedSources } : {}),
        ...(this.deps.gateways ? { gateways: this.deps.gateways } : {}),
        path: this.path,
      },
      state,
    );
    this.loop = newAgentLoop(this.reconciler, {
      log: this.log,
      metrics: this.deps.metrics,
      readbackIntervalMs: this.readbackIntervalMs(),
      ...(this.config.debounceMs !== undefined ? { debounceMs: this.config.debounceMs } : {}),
      ...(this.deps.clock ? { clock: this.deps.clock } : {}),
    });
    this.loop.start();
    await this.loop.idle();
    this.path.start();
  }

  /** Path selection (relay connection, probes, per-peer machines); it applies through this agent's loop. */
  private createPath(state: NodeState): PathController {
    this.pathMetrics ??= new PathMetrics(this.deps.metrics.registry);
    const log = this.log.child({ subsystem: 'path' });
    return new PathController({
      publicKey: state.keys.publicKey,
      privateKey: state.keys.privateKey,
      log,
      ...(this.deps.relayLink ? { relay: this.deps.relayLink(state.keys, log) } : {}),
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
    const self = this.peerInformer?.get(peerNameForNode(this.config.nodeName));
    if (!self) return;
    const reason = change.to === 'relay' ? 'PathRelayed' : 'PathDirect';
    const message = `${change.peer}: ${change.from} → ${change.to} (${change.reason})`;
    try {
      await this.deps.kube.recordEvent(self, 'Normal', reason, message);
    } catch (error) {
      this.log.warn(
        { event: 'event-failed', peer: change.peer, reason, err: errorMessage(error) },
        'cannot record event',
      );
    }
  }

  /** Releases the loop and the watches. Never touches the interface, routes, rules or keys. */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.loop?.stop();
    await this.path?.stop();
    await Promise.all([this.meshInformer?.stop(), this.peerInformer?.stop(), this.deps.gateways?.stop()]);
    this.log.info({ event: 'agent-stopped' }, 'agent stopped; interface, routes and keys left in place');
  }

  /** Asks for a pass and resolves once it ran (tests, embedders); a no-op before start-up finished. */
  async reconcileNow(): Promise<void> {
    this.loop?.trigger('requested');
    await this.loop?.idle();
  }

  live(): boolean {
    return !this.stopping();
  }

  ready(): { ready: boolean; reason?: string } {
    if (this.stopping()) return { ready: false, reason: 'shutting down' };
    if (!this.state) return { ready: false, reason: `waiting for WireKubeMesh ${this.meshName()}` };
    if (!this.reconciler?.lastApplied) return { ready: false, reason: 'first reconcile pending' };
    return { ready: true };
  }

  private stopping(): boolean {
    return this.stopController.signal.aborted;
  }

  private meshName(): string {
    return this.config.meshName ?? DEFAULT_MESH_NAME;
  }

  private readbackIntervalMs(): number {
    return this.config.reconcileIntervalMs ?? DEFAULT_READBACK_INTERVAL_MS;
  }

  /** Waits with backoff while the mesh is missing, instead of guessing defaults for it. */
  private async waitForMesh(): Promise<WireKubeMesh | undefined> {
    const backoff = new Backoff(1_000, 30_000);
    const mesh = this.meshName();
    while (!this.stopping()) {
      try {
        const found = await this.deps.kube.getMesh(mesh);
        if (found) return found;
        const delay = backoff.next();
        this.log.warn({ event: 'mesh-not-found', mesh, retryInMs: delay }, 'WireKubeMesh not found; waiting');
        await sleep(delay, this.stopController.signal);
      } catch (error) {
        const delay = backoff.next();
        this.deps.metrics.errors.inc({ component: 'kube' });
        this.log.warn(
          { event: 'mesh-read-failed', mesh, err: errorMessage(error), retryInMs: delay },
          'cannot read WireKubeMesh; retrying',
        );
        await sleep(delay, this.stopController.signal);
      }
    }
    return undefined;
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
      onChange: () => this.loop?.trigger('peer'),
    });
    await Promise.all([
      this.meshInformer.start(),
      this.peerInformer.start(),
      this.deps.gateways?.start(() => this.loop?.trigger('gateway')),
    ]);
  }

  /** The resolved spec, or undefined (logged) when the object is invalid: the previous settings stay. */
  private validMesh(mesh: WireKubeMesh): ResolvedMeshSpec | undefined {
    const errors = validate('WireKubeMesh', mesh);
    if (errors.length === 0) return resolveMeshSpec(mesh.spec);
    this.log.error(
      { event: 'mesh-invalid', mesh: mesh.metadata.name, errors },
      'WireKubeMesh is invalid; keeping the previous settings',
    );
    return undefined;
  }

  private onMeshChange(mesh: WireKubeMesh): void {
    // Before start-up has settled, it reads the watch's cache itself (start()).
    if (!this.state) return;
    const next = this.validMesh(mesh);
    if (!next) return;
    if (next.interfaceName !== this.state.mesh.interfaceName) {
      this.log.warn(
        { event: 'interface-rename-ignored', from: this.state.mesh.interfaceName, to: next.interfaceName },
        'interfaceName changed; restart the agent to move to the new interface',
      );
      next.interfaceName = this.state.mesh.interfaceName;
    }
    this.state.mesh = next;
    this.loop?.trigger('mesh');
  }

  /**
   * Seed: an interface whose key matches is reused as-is (no flap); a mismatch is torn down and recreated.
   * STUN runs before creation, while the WireGuard port is still free.
   */
  private async ensureInterface(
    state: NodeState,
  ): Promise<{ outcome: 'adopted' | 'created' | 'recreated'; portMoved: boolean }> {
    const { dataplane } = this.deps;
    const { mesh } = state;
    const existing = await dataplane.readDevice(mesh.interfaceName);
    if (existing && existing.publicKey === state.keys.publicKey) {
      // The mesh moved the listen port while the agent was away: the new port is free to probe from, and the
      // published endpoint is for the old one (issue 11.3).
      const portMoved = existing.listenPort !== mesh.listenPort;
      state.nat = await probeNat(this.deps.stun, mesh.stunServers, mesh.listenPort, !portMoved);
      return { outcome: 'adopted', portMoved };
    }
    // No key at all is not a mismatch: a wireguard-go that its own DaemonSet has just (re)started, waiting to be
    // configured. Deleting its TUN would end that process and leave the agent waiting for a socket until the
    // kubelet restarts it, only to find a key-less interface again.
    const mismatch = existing !== undefined && existing.publicKey !== undefined;
    if (mismatch) {
      this.log.warn(
        { event: 'interface-key-mismatch', interface: mesh.interfaceName, found: existing.publicKey },
        'interface key does not match the key file; recreating it',
      );
      await dataplane.deleteDevice(mesh.interfaceName);
    } else if (existing) {
      this.log.info(
        { event: 'interface-unconfigured', interface: mesh.interfaceName },
        'interface has no key yet; configuring it',
      );
    }
    state.nat = await probeNat(this.deps.stun, mesh.stunServers, mesh.listenPort, false);
    await dataplane.createDevice(mesh.interfaceName, mesh.mtu);
    return { outcome: mismatch ? 'recreated' : 'created', portMoved: false };
  }

  private ownEndpointOptions(): OwnEndpointOptions {
    return {
      nodeName: this.config.nodeName,
      ...(this.config.persistentKeepalive !== undefined
        ? { persistentKeepalive: this.config.persistentKeepalive }
        : {}),
      ...(this.config.initAllowedIPs !== undefined ? { initAllowedIPs: this.config.initAllowedIPs } : {}),
    };
  }

  private ownEndpointDeps(): OwnEndpointDeps {
    const { kube, endpointSources, metrics } = this.deps;
    return {
      kube,
      endpointSources,
      metrics,
      log: this.log,
      ...(this.peerInformer ? { peers: this.peerInformer } : {}),
    };
  }
}
