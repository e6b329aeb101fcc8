import { FWMARK_RULE_PRIORITY, ROUTE_TABLE, RULE_PRIORITY } from '@wirekube/crd-types';
import {
  type DesiredPeer as NetlinkPeer,
  type NetworkSurface,
  openNetwork,
  openWireGuard,
  Sysctls,
  type WireGuardBackend,
} from '@wirekube/netlink';
import type { Logger } from 'pino';
import { PROTECT_RULE_PRIORITY } from '../plan/protect.js';
import type { DesiredNode, DesiredPeer } from '../plan/types.js';
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
 * The Dataplane over @wirekube/netlink: rtnetlink for links, routes and rules; WireGuard through its backend.
 * Calls are serialized: one rtnetlink socket cannot interleave two dumps (the kernel answers EBUSY), and the
 * agent's timers (reconcile, endpoint re-check) may fire together.
 */
export class NetlinkDataplane implements Dataplane {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly backend: 'kernel' | 'userspace',
    private readonly wireguard: WireGuardBackend,
    private readonly net: NetworkSurface,
    private readonly sysctls: Sysctls,
  ) {}

  static async open(options: NetlinkDataplaneOptions): Promise<NetlinkDataplane> {
    const { wireguard, detection } = await openWireGuard({
      backend: options.backend,
      logger: options.logger,
      wireguardGo: {
        ...(options.wireguardGo ? { command: options.wireguardGo } : {}),
        ...(options.wireguardGoLog ? { logPath: options.wireguardGoLog } : {}),
      },
    });
    options.logger.info({ backend: detection.kind, reason: detection.reason }, 'WireGuard backend selected');
    const net = openNetwork({ logger: options.logger });
    const sysctls = new Sysctls({
      procRoot: `${options.procRoot.replace(/\/$/, '')}/sys`,
      logger: options.logger,
    });
    return new NetlinkDataplane(detection.kind, wireguard, net, sysctls);
  }

  readDevice(name: string): Promise<DeviceSnapshot | undefined> {
    return this.serial(() => this.readDeviceNow(name));
  }

  createDevice(name: string, mtu: number): Promise<void> {
    return this.serial(() => this.createDeviceNow(name, mtu));
  }

  deleteDevice(name: string): Promise<void> {
    return this.serial(() => this.wireguard.deleteInterface(name).then(() => undefined));
  }

  apply(desired: DesiredNode): Promise<ApplySummary> {
    return this.serial(() => this.applyNow(desired));
  }

  hostAddresses(exclude: string): Promise<string[]> {
    return this.serial(() => this.hostAddressesNow(exclude));
  }

  async close(): Promise<void> {
    await this.serial(async () => {
      this.net.close();
      await this.wireguard.close();
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async readDeviceNow(name: string): Promise<DeviceSnapshot | undefined> {
    if (!(await this.wireguard.interfaceExists(name))) return undefined;
    const state = await this.wireguard.getDevice(name);
    return {
      ...(state.publicKey ? { publicKey: state.publicKey } : {}),
      listenPort: state.listenPort,
      peers: state.peers.map((p) => ({
        publicKey: p.publicKey,
        ...(p.endpoint ? { endpoint: p.endpoint } : {}),
        ...(p.lastHandshake ? { lastHandshakeMs: p.lastHandshake.getTime() } : {}),
        rxBytes: p.rxBytes,
        txBytes: p.txBytes,
      })),
    };
  }

  private async createDeviceNow(name: string, mtu: number): Promise<void> {
    await this.wireguard.ensureInterface(name);
    await this.net.links.setMtu(name, mtu);
    await this.net.links.setUp(name, true);
  }

  private async applyNow(desired: DesiredNode): Promise<ApplySummary> {
    const summary = emptySummary();
    const { device } = desired;
    const wg = await this.wireguard.applyDevice(
      device.name,
      {
        privateKey: device.privateKey,
        listenPort: device.listenPort,
        fwmark: device.fwmark,
        peers: device.peers.map(toNetlinkPeer),
      },
      { replacePeers: true },
    );
    const names = new Map(device.peers.map((p) => [p.publicKey, p.name]));
    const nameOf = (key: string) => names.get(key) ?? key;
    summary.deviceChanged = wg.device.length > 0;
    summary.peersAdded = wg.added.map(nameOf);
    summary.peersRemoved = wg.removed.map(nameOf);
    summary.peersUpdated = wg.updated.map((u) => nameOf(u.publicKey));

    // The link must be up with the right MTU before routes through it can be installed.
    const link = await this.net.links.get(device.name);
    if (link && link.mtu !== device.mtu) {
      await this.net.links.setMtu(device.name, device.mtu);
      summary.deviceChanged = true;
    }
    if (link && !link.up) {
      await this.net.links.setUp(device.name, true);
      summary.deviceChanged = true;
    }

    const routes = await this.net.routeTable(ROUTE_TABLE).set(
      desired.routes.map((r) => ({
        dst: r.destination,
        table: r.table,
        dev: r.device,
        ...(r.source ? { src: r.source } : {}),
      })),
    );
    summary.routesAdded = routes.replaced.map((r) => r.dst);
    summary.routesRemoved = routes.removed.map((r) => r.dst);

    const rules = await this.net.ruleSet([PROTECT_RULE_PRIORITY, FWMARK_RULE_PRIORITY, RULE_PRIORITY]).set(
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

    const changes = await this.sysctls.apply(desired.sysctls);
    summary.sysctlsChanged = changes.map((c) => c.key);
    return summary;
  }

  private async hostAddressesNow(exclude: string): Promise<string[]> {
    const addresses = await this.net.addresses.list();
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
