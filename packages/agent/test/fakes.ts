import type { V1Node } from '@kubernetes/client-node';
import type { WireKubeMesh, WireKubePeer, WireKubePeerStatus } from '@wirekube/crd-types';
import type { InformerLike } from '@wirekube/kube-runtime';
import type { TaggedRule } from '@wirekube/netlink/net';
import pino from 'pino';
import type { ApplySummary, Dataplane, DeviceSnapshot } from '../src/dataplane/types.js';
import { emptySummary } from '../src/dataplane/types.js';
import type { AgentKubeApi, EventType } from '../src/kube/api.js';
import type { DesiredNode, DesiredRoute } from '../src/plan/types.js';

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

const BUILTIN_CHAINS = [
  'filter/INPUT',
  'filter/FORWARD',
  'filter/OUTPUT',
  'nat/PREROUTING',
  'nat/POSTROUTING',
];

/**
 * An in-memory node that keeps the Dataplane contract (dataplane-contract.ts): the same summaries, the same
 * minimal changes, the same skipped rules as the real netlink dataplane, which passes the suite in the lab.
 */
export class FakeDataplane implements Dataplane {
  readonly backend = 'userspace' as const;
  device: DeviceSnapshot | undefined;
  mtu: number | undefined;
  readonly calls: string[] = [];
  applied: DesiredNode[] = [];
  addresses = ['10.1.0.2'];
  readonly routes = new Map<string, DesiredRoute>();
  readonly rules = new Set<string>();
  readonly sysctls = new Map<string, string>();
  readonly chains = new Set<string>(BUILTIN_CHAINS);
  readonly iptables = new Map<string, TaggedRule>();
  private readonly names = new Map<string, string>();

  async readDevice() {
    return this.device ? structuredClone(this.device) : undefined;
  }
  async createDevice(name: string, mtu: number) {
    this.calls.push(`create ${name} mtu ${mtu}`);
    this.device = { listenPort: 0, fwmark: 0, peers: [] };
    this.mtu = mtu;
  }
  async deleteDevice(name: string) {
    this.calls.push(`delete ${name}`);
    this.device = undefined;
  }
  async apply(desired: DesiredNode, _reading?: DeviceSnapshot): Promise<ApplySummary> {
    this.applied.push(desired);
    const summary = emptySummary();
    const wanted = desired.device;
    if (!this.device) {
      this.device = { listenPort: 0, fwmark: 0, peers: [] };
      summary.deviceChanged = true;
    }
    const device = this.device;
    const publicKey = publicOf(wanted.privateKey);
    if (device.publicKey !== publicKey || device.listenPort !== wanted.listenPort)
      summary.deviceChanged = true;
    if (device.fwmark !== wanted.fwmark || this.mtu !== wanted.mtu) summary.deviceChanged = true;
    Object.assign(device, { publicKey, listenPort: wanted.listenPort, fwmark: wanted.fwmark });
    this.mtu = wanted.mtu;
    for (const p of wanted.peers) this.names.set(p.publicKey, p.name);
    const nameOf = (key: string) => this.names.get(key) ?? key;

    const known = new Map(device.peers.map((p) => [p.publicKey, p]));
    const desiredKeys = new Set(wanted.peers.map((p) => p.publicKey));
    summary.peersRemoved = device.peers
      .filter((p) => !desiredKeys.has(p.publicKey))
      .map((p) => nameOf(p.publicKey));
    device.peers = wanted.peers.map((p) => {
      const current = known.get(p.publicKey);
      const next = {
        ...(current ?? { publicKey: p.publicKey, rxBytes: 0, txBytes: 0 }),
        allowedIPs: [...p.allowedIPs],
        persistentKeepalive: p.persistentKeepalive ?? 0,
      };
      if (p.endpoint && (!current?.endpoint || !p.keepRoamedEndpoint)) next.endpoint = p.endpoint;
      if (!current) summary.peersAdded.push(p.name);
      else if (
        [...(current.allowedIPs ?? [])].sort().join() !== [...p.allowedIPs].sort().join() ||
        current.persistentKeepalive !== next.persistentKeepalive ||
        current.endpoint !== next.endpoint
      )
        summary.peersUpdated.push(p.name);
      return next;
    });

    const routes = new Map(desired.routes.map((r) => [r.destination, r]));
    for (const [dst, route] of routes) {
      const current = this.routes.get(dst);
      if (!current || current.device !== route.device || current.source !== route.source)
        summary.routesAdded.push(dst);
    }
    for (const dst of this.routes.keys()) if (!routes.has(dst)) summary.routesRemoved.push(dst);
    this.routes.clear();
    for (const [dst, route] of routes) this.routes.set(dst, route);

    const rules = new Set(
      desired.rules.map((r) => `${r.family} ${r.priority} ${r.table} ${r.fwmark ?? '-'}`),
    );
    summary.rulesAdded = [...rules].filter((r) => !this.rules.has(r)).length;
    summary.rulesRemoved = [...this.rules].filter((r) => !rules.has(r)).length;
    this.rules.clear();
    for (const r of rules) this.rules.add(r);

    for (const setting of desired.sysctls) {
      const key = setting.key.join('.');
      if (this.sysctls.get(key) !== String(setting.value)) summary.sysctlsChanged.push(key);
      this.sysctls.set(key, String(setting.value));
    }

    const kept = new Set<string>();
    for (const rule of desired.iptables) {
      if (!this.chains.has(`${rule.table}/${rule.chain}`)) {
        summary.iptablesSkipped.push(rule.comment);
        continue;
      }
      kept.add(rule.comment);
      if (!this.iptables.has(rule.comment)) summary.iptablesAdded.push(rule.comment);
      this.iptables.set(rule.comment, rule);
    }
    for (const comment of [...this.iptables.keys()]) {
      if (kept.has(comment)) continue;
      this.iptables.delete(comment);
      summary.iptablesRemoved.push(comment);
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
