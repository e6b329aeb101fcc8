import type { Logger } from 'pino';
import type { Applier } from '../applier.js';
import type { Links } from '../rtnl/links.js';
import type { WireGuardBackend } from './backend.js';
import type { ApplyResult, DesiredDevice, DeviceState } from './types.js';

/** A WireGuard interface as wanted: the link (MTU, up) and the device behind it. */
export interface DesiredInterface {
  mtu: number;
  device: DesiredDevice;
}

export type LinkChange = 'created' | 'deleted' | 'mtu' | 'up';

export interface InterfaceSetResult extends ApplyResult {
  link: LinkChange[];
}

export interface InterfaceSetOptions {
  /** The device as read moments ago, to diff against instead of reading it again (see ApplyOptions). */
  actual?: DeviceState;
}

/**
 * One WireGuard interface WireKube owns: `set(desired)` creates or adopts it, fixes MTU and up, and applies the
 * device diff; `set(undefined)` deletes it (userspace: its daemon exits with it).
 */
export class WireGuardInterface implements Applier<DesiredInterface | undefined, InterfaceSetResult> {
  constructor(
    private readonly wireguard: WireGuardBackend,
    private readonly links: Links,
    readonly name: string,
    private readonly logger?: Logger,
  ) {}

  async set(
    desired: DesiredInterface | undefined,
    options: InterfaceSetOptions = {},
  ): Promise<InterfaceSetResult> {
    if (desired === undefined) {
      const deleted = await this.wireguard.deleteInterface(this.name);
      return { ...unchanged(), changed: deleted, link: deleted ? ['deleted'] : [] };
    }
    const link: LinkChange[] = [];
    const { created } = await this.wireguard.ensureInterface(this.name);
    if (created) link.push('created');
    // The link must be up with the right MTU before routes through it can be installed.
    const info = await this.links.get(this.name);
    if (info && info.mtu !== desired.mtu) {
      await this.links.setMtu(this.name, desired.mtu);
      link.push('mtu');
    }
    if (info && !info.up) {
      await this.links.setUp(this.name, true);
      link.push('up');
    }
    const actual = created ? undefined : options.actual;
    const device = await this.wireguard.applyDevice(this.name, desired.device, {
      replacePeers: true,
      ...(actual ? { actual } : {}),
    });
    if (link.length > 0) {
      this.logger?.info({ event: 'wireguard-link-set', iface: this.name, link }, 'WireGuard link updated');
    }
    return { ...device, changed: device.changed || link.length > 0, link };
  }
}

function unchanged(): ApplyResult {
  return { changed: false, device: [], added: [], removed: [], updated: [], keptRoamedEndpoints: [] };
}
