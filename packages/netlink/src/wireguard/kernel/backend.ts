import { NetlinkError, toNetlinkError } from '../../errors.js';
import type { Links } from '../../rtnl/links.js';
import type { WireGuardDeviceIO } from '../backend.js';
import type { DeviceState, DeviceUpdate } from '../types.js';
import { decodeDeviceMessages, toDeviceState } from './decode.js';
import { type EncodeOptions, encodeGetDevice, encodeSetDevice } from './encode.js';
import type { GenlTransport } from './genl.js';
import { WG_CMD_GET_DEVICE, WG_CMD_SET_DEVICE, WG_GENL_NAME, WG_GENL_VERSION } from './uapi.js';

/** The kernel module, programmed over the `wireguard` generic netlink family; links over rtnetlink. */
export class KernelDeviceIO implements WireGuardDeviceIO {
  readonly kind = 'kernel' as const;

  constructor(
    private readonly genl: GenlTransport,
    private readonly links: Links,
    private readonly encodeOptions: EncodeOptions = {},
  ) {}

  async read(iface: string): Promise<DeviceState> {
    const family = await this.genl.familyId(WG_GENL_NAME);
    let payloads: Buffer[];
    try {
      payloads = await this.genl.request(family, WG_CMD_GET_DEVICE, WG_GENL_VERSION, encodeGetDevice(iface), {
        dump: true,
      });
    } catch (error) {
      throw toNetlinkError(error, { operation: 'wireguard.get', iface });
    }
    return toDeviceState(decodeDeviceMessages(payloads), iface);
  }

  async write(iface: string, update: DeviceUpdate): Promise<void> {
    const family = await this.genl.familyId(WG_GENL_NAME);
    for (const payload of encodeSetDevice(iface, update, this.encodeOptions)) {
      try {
        await this.genl.request(family, WG_CMD_SET_DEVICE, WG_GENL_VERSION, payload);
      } catch (error) {
        throw toNetlinkError(error, { operation: 'wireguard.set', iface });
      }
    }
  }

  async exists(iface: string): Promise<boolean> {
    const link = await this.links.get(iface);
    if (link && link.kind !== 'wireguard') {
      throw new NetlinkError(`interface ${iface} exists but is a ${link.kind ?? 'link without kind'}`, {
        operation: 'wireguard.exists',
        iface,
        errno: 17,
        code: 'EEXIST',
      });
    }
    return link !== undefined;
  }

  async create(iface: string): Promise<{ pid?: number }> {
    await this.links.create(iface, 'wireguard');
    return {};
  }

  async delete(iface: string): Promise<void> {
    await this.links.delete(iface);
  }

  /** The transports belong to whoever opened them (see openWireGuard). */
  async close(): Promise<void> {}
}
