import type { DeviceState, DesiredPeer as NetlinkPeer, TaggedRule } from '@wirekube/netlink';
import type { Logger } from 'pino';
import type { DesiredNode, DesiredPeer } from '../plan/types.js';
import { type NodeAppliers, openNodeAppliers } from './appliers.js';
import { DataplaneApplyError } from './errors.js';
import { type ApplySummary, type Dataplane, type DeviceSnapshot, emptySummary } from './types.js';

export interface NetlinkDataplaneOptions {
  backend: 'auto' | 'kernel' | 'userspace';
  /** Where the host's /proc is (containers mount it elsewhere). */
  procRoot: string;
  wireguardGo?: string;
  /** wireguard-go's own output, appended; default discarded. */
  wireguardGoLog?: string;
  logger: Logger;
}

/**
 * The Dataplane over @wirekube/netlink's appliers. Calls are serialized: one rtnetlink socket cannot interleave
 * two dumps (the kernel answers EBUSY), and the agent's timers (reconcile, endpoint re-check) may fire together.
 * A read of the WireGuard device waits only for the socket, not for a whole apply: an apply holds it one surface
 * at a time, so path selection's 250 ms sampling slips in between surfaces instead of waiting for routes, rules,
 * sysctls and iptables (a second or more on a loaded node, which delayed noticing a dead direct path).
 */
export class NetlinkDataplane implements Dataplane {
  private queue: Promise<unknown> = Promise.resolve();
  /** Held by each single use of the kernel sockets: a read, or one surface of an apply. */
  private socket: Promise<unknown> = Promise.resolve();
  /** Peer names by key, remembered across applies so that a removed peer is still logged by its name. */
  private readonly names = new Map<string, string>();

  private constructor(private readonly appliers: NodeAppliers) {}

  get backend(): 'kernel' | 'userspace' {
    return this.appliers.backend;
  }

  static async open(options: NetlinkDataplaneOptions): Promise<NetlinkDataplane> {
    return new NetlinkDataplane(await openNodeAppliers(options));
  }

  readDevice(name: string): Promise<DeviceSnapshot | undefined> {
    return this.exclusive(() => this.readDeviceNow(name));
  }

  createDevice(name: string, mtu: number): Promise<void> {
    return this.serial(() => this.exclusive(() => this.createDeviceNow(name, mtu)));
  }

  deleteDevice(name: string): Promise<void> {
    return this.serial(() =>
      this.exclusive(() => this.appliers.wireguard.deleteInterface(name).then(() => undefined)),
    );
  }

  apply(desired: DesiredNode, device?: DeviceSnapshot): Promise<ApplySummary> {
    return this.serial(() => this.applyNow(desired, device));
  }

  hostAddresses(exclude: string): Promise<string[]> {
    return this.serial(() => this.exclusive(() => this.hostAddressesNow(exclude)));
  }

  async close(): Promise<void> {
    await this.serial(() => this.exclusive(() => this.appliers.close()));
  }

  /** Whole operations, one after the other (two applies never interleave their surfaces). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** One use of the sockets at a time. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.socket.then(fn, fn);
    this.socket = run.catch(() => undefined);
    return run;
  }

  private async readDeviceNow(name: string): Promise<DeviceSnapshot | undefined> {
    const state = await this.appliers.wireguard.findDevice(name);
    if (!state) return undefined;
    return {
      ...(state.publicKey ? { publicKey: state.publicKey } : {}),
      listenPort: state.listenPort,
      fwmark: state.fwmark,
      peers: state.peers.map((p) => ({
        publicKey: p.publicKey,
        ...(p.endpoint ? { endpoint: p.endpoint } : {}),
        ...(p.lastHandshake ? { lastHandshakeMs: p.lastHandshake.getTime() } : {}),
        rxBytes: p.rxBytes,
        txBytes: p.txBytes,
        allowedIPs: p.allowedIPs,
        persistentKeepalive: p.persistentKeepalive,
      })),
    };
  }

  private async createDeviceNow(name: string, mtu: number): Promise<void> {
    const { wireguard, net } = this.appliers;
    await wireguard.ensureInterface(name);
    await net.links.setMtu(name, mtu);
    await net.links.setUp(name, true);
  }

  private async applyNow(desired: DesiredNode, snapshot: DeviceSnapshot | undefined): Promise<ApplySummary> {
    const summary = emptySummary();
    const { device } = desired;
    const actual = snapshot ? toDeviceState(device.name, snapshot) : undefined;
    // The interface first: routes through it cannot be installed before it exists, up, with its MTU.
    const wg = await this.exclusive(() =>
      this.appliers.interface(device.name).set(
        {
          mtu: device.mtu,
          device: {
            privateKey: device.privateKey,
            listenPort: device.listenPort,
            fwmark: device.fwmark,
            peers: device.peers.map(toNetlinkPeer),
          },
        },
        actual ? { actual } : {},
      ),
    );
    for (const p of device.peers) this.names.set(p.publicKey, p.name);
    const nameOf = (key: string) => this.names.get(key) ?? key;
    summary.deviceChanged = wg.device.length > 0 || wg.link.length > 0;
    summary.peersAdded = wg.added.map(nameOf);
    summary.peersRemoved = wg.removed.map(nameOf);
    summary.peersUpdated = wg.updated.map((u) => nameOf(u.publicKey));
    for (const key of wg.removed) this.names.delete(key);

    // One failing surface (an iptables binary missing, a sysctl another daemon locked) must not keep the others
    // from being set: each runs, and the failures are reported together.
    const failures: Array<{ surface: string; error: unknown }> = [];
    const attempt = async (surface: string, fn: () => Promise<void>) => {
      try {
        await this.exclusive(fn);
      } catch (error) {
        failures.push({ surface, error });
      }
    };
    await attempt('routes', async () => {
      const routes = await this.appliers.routes.set(
        desired.routes.map((r) => ({
          dst: r.destination,
          table: r.table,
          dev: r.device,
          ...(r.source ? { src: r.source } : {}),
        })),
      );
      summary.routesAdded = [...routes.added, ...routes.updated].map((r) => r.dst);
      summary.routesRemoved = routes.removed.map((r) => r.dst);
    });
    await attempt('rules', async () => {
      const rules = await this.appliers.rules.set(
        desired.rules.map((r) => ({
          family: r.family,
          priority: r.priority,
          table: r.table,
          ...(r.fwmark !== undefined ? { fwmark: r.fwmark } : {}),
          ...(r.destination !== undefined ? { dst: r.destination } : {}),
        })),
      );
      summary.rulesAdded = rules.added.length;
      summary.rulesRemoved = rules.removed.length;
    });
    await attempt('sysctls', async () => {
      summary.sysctlsChanged = (await this.appliers.sysctls.set(desired.sysctls)).updated.map((c) => c.key);
    });
    for (const family of [4, 6] as const) {
      await attempt(`iptables (IPv${family})`, async () => {
        const wanted = desired.iptables.filter((rule: TaggedRule) => (rule.family ?? 4) === family);
        const result = await this.appliers.iptables[family].set(wanted);
        summary.iptablesAdded.push(...result.added.map((r) => r.comment));
        summary.iptablesRemoved.push(...result.removed.map((r) => r.comment ?? r.args.join(' ')));
        summary.iptablesUpdated.push(...result.updated.map((r) => r.comment));
        summary.iptablesSkipped.push(...result.skipped.map((r) => r.comment));
      });
    }
    if (failures.length > 0) throw new DataplaneApplyError(failures, summary);
    return summary;
  }

  private async hostAddressesNow(exclude: string): Promise<string[]> {
    const addresses = await this.appliers.net.addresses.list();
    return addresses
      .filter((a) => a.iface !== exclude && a.iface !== 'lo')
      .map((a) => a.cidr.slice(0, a.cidr.indexOf('/')))
      .filter((a) => !a.startsWith('fe80:'));
  }
}

function toNetlinkPeer(peer: DesiredPeer): NetlinkPeer {
  return {
    publicKey: peer.publicKey,
    ...(peer.endpoint ? { endpoint: peer.endpoint, forceEndpoint: !peer.keepRoamedEndpoint } : {}),
    persistentKeepalive: peer.persistentKeepalive ?? 0,
    allowedIPs: peer.allowedIPs,
  };
}

/**
 * The reading the reconciler planned from, as netlink's diff wants it; undefined when the snapshot lacks the
 * configuration (a hand-made one), so the applier reads the device itself.
 */
function toDeviceState(name: string, snapshot: DeviceSnapshot): DeviceState | undefined {
  if (snapshot.fwmark === undefined) return undefined;
  const peers: DeviceState['peers'] = [];
  for (const p of snapshot.peers) {
    if (p.allowedIPs === undefined || p.persistentKeepalive === undefined) return undefined;
    peers.push({
      publicKey: p.publicKey,
      ...(p.endpoint ? { endpoint: p.endpoint } : {}),
      ...(p.lastHandshakeMs ? { lastHandshake: new Date(p.lastHandshakeMs) } : {}),
      rxBytes: p.rxBytes,
      txBytes: p.txBytes,
      allowedIPs: p.allowedIPs,
      persistentKeepalive: p.persistentKeepalive,
    });
  }
  return {
    name,
    ...(snapshot.publicKey ? { publicKey: snapshot.publicKey } : {}),
    listenPort: snapshot.listenPort,
    fwmark: snapshot.fwmark,
    peers,
  };
}
