import type { V1Node } from '@kubernetes/client-node';
import type { WireKubeMesh, WireKubePeer, WireKubePeerStatus } from '@wirekube/crd-types';
import type { InformerLike } from '@wirekube/kube-runtime';
import pino from 'pino';
import type { ApplySummary, Dataplane, DeviceSnapshot } from '../src/dataplane/types.js';
import { emptySummary } from '../src/dataplane/types.js';
import type { AgentKubeApi, EventType } from '../src/kube/api.js';
import type { DesiredNode } from '../src/plan/types.js';

type Verb = 'add' | 'update' | 'delete';

/** An in-memory informer over a FakeKube collection. */
class FakeInformer<T extends { metadata: { name?: string } }> implements InformerLike<T> {
  private readonly callbacks: Record<string, Array<(x?: unknown) => void>> = {};
  constructor(private readonly store: Map<string, T>) {}
  on(verb: string, cb: (x: never) => void): void {
    const list = this.callbacks[verb] ?? [];
    list.push(cb as (x?: unknown) => void);
    this.callbacks[verb] = list;
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  list(): ReadonlyArray<T> {
    return [...this.store.values()];
  }
  get(name: string): T | undefined {
    return this.store.get(name);
  }
  emit(verb: Verb, obj: T): void {
    for (const cb of this.callbacks[verb] ?? []) cb(obj);
  }
}

export class FakeKube implements AgentKubeApi {
  readonly meshes = new Map<string, WireKubeMesh>();
  readonly peers = new Map<string, WireKubePeer>();
  readonly nodes = new Map<string, V1Node>();
  readonly events: Array<{ object: string; type: EventType; reason: string; message: string }> = [];
  /** Each status merge patch as sent (nulls included). */
  readonly statusWrites: Array<{ name: string; status: object }> = [];
  readonly peerInformers: Array<FakeInformer<WireKubePeer>> = [];

  async getMesh(name: string) {
    return this.meshes.get(name);
  }
  async getNode(name: string) {
    return this.nodes.get(name);
  }
  async getPeer(name: string) {
    return this.peers.get(name);
  }
  async createPeer(peer: WireKubePeer) {
    const created = {
      ...structuredClone(peer),
      metadata: { ...peer.metadata, uid: `uid-${peer.metadata.name}` },
    };
    this.putPeer(created);
    return created;
  }
  async patchPeer(name: string, patch: Record<string, unknown>) {
    const existing = this.peers.get(name);
    if (!existing) throw new Error(`no peer ${name}`);
    const merged = mergePatch(existing, patch) as WireKubePeer;
    this.putPeer(merged);
    return merged;
  }
  async patchPeerStatus(name: string, status: object) {
    this.statusWrites.push({ name, status });
    const existing = this.peers.get(name)!;
    const merged = { ...existing, status: mergePatch(existing.status ?? {}, status) as WireKubePeerStatus };
    this.putPeer(merged);
    return merged;
  }
  async recordEvent(peer: WireKubePeer, type: EventType, reason: string, message: string) {
    this.events.push({ object: peer.metadata.name ?? '', type, reason, message });
  }
  meshInformer() {
    return new FakeInformer(this.meshes);
  }
  peerInformer() {
    const informer = new FakeInformer(this.peers);
    this.peerInformers.push(informer);
    return informer;
  }
  putPeer(peer: WireKubePeer) {
    const existed = this.peers.has(peer.metadata.name ?? '');
    this.peers.set(peer.metadata.name ?? '', peer);
    for (const i of this.peerInformers) i.emit(existed ? 'update' : 'add', peer);
  }
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = { ...((target as Record<string, unknown>) ?? {}) };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class FakeDataplane implements Dataplane {
  readonly backend = 'userspace' as const;
  device: DeviceSnapshot | undefined;
  readonly calls: string[] = [];
  applied: DesiredNode[] = [];
  addresses = ['10.1.0.2'];

  async readDevice() {
    return this.device ? structuredClone(this.device) : undefined;
  }
  async createDevice(name: string, mtu: number) {
    this.calls.push(`create ${name} mtu ${mtu}`);
    this.device = { listenPort: 0, peers: [] };
  }
  async deleteDevice(name: string) {
    this.calls.push(`delete ${name}`);
    this.device = undefined;
  }
  async apply(desired: DesiredNode): Promise<ApplySummary> {
    this.applied.push(desired);
    const summary = emptySummary();
    if (this.device) {
      const known = new Map(this.device.peers.map((p) => [p.publicKey, p]));
      this.device.publicKey = publicOf(desired.device.privateKey);
      this.device.listenPort = desired.device.listenPort;
      this.device.peers = desired.device.peers.map(
        (p) => known.get(p.publicKey) ?? { publicKey: p.publicKey, rxBytes: 0, txBytes: 0 },
      );
    }
    return summary;
  }
  async hostAddresses() {
    return this.addresses;
  }
}

/** The fake device's "public key" is derived from the private key so adoption checks are meaningful. */
export function publicOf(privateKey: string): string {
  return `pub(${privateKey})`;
}

export const silentLog = pino({ level: 'silent' });
