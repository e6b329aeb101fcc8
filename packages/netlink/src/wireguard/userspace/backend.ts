import { setTimeout as sleep } from 'node:timers/promises';
import { UapiError } from '../../errors.js';
import { publicKeyFromPrivate } from '../../keys/x25519.js';
import type { Links } from '../../rtnl/links.js';
import type { WireGuardDeviceIO } from '../backend.js';
import type { DeviceState, DeviceUpdate } from '../types.js';
import { formatSetRequest, GET_REQUEST, parseGetResponse, replyErrno } from './protocol.js';
import type { UapiTransport } from './socket.js';
import type { UserspaceLauncher } from './wireguard-go.js';

/** wireguard-go / boringtun, programmed over the UAPI socket. */
export class UserspaceDeviceIO implements WireGuardDeviceIO {
  readonly kind = 'userspace' as const;

  constructor(
    private readonly transport: UapiTransport,
    private readonly launcher: UserspaceLauncher,
    private readonly links?: Links,
  ) {}

  private async exchange(iface: string, text: string, operation: string): Promise<string> {
    const reply = await this.transport.request(iface, text);
    const errno = replyErrno(reply);
    if (errno !== 0) {
      throw new UapiError(`${operation} on ${iface}: errno=${errno ?? 'missing'}`, {
        operation,
        iface,
        errno: errno === undefined ? undefined : Math.abs(errno),
      });
    }
    return reply;
  }

  async read(iface: string): Promise<DeviceState> {
    const device = parseGetResponse(await this.exchange(iface, GET_REQUEST, 'wireguard.get'), iface);
    if (device.privateKey) device.publicKey = publicKeyFromPrivate(device.privateKey);
    const link = await this.links?.get(iface);
    if (link) device.ifindex = link.index;
    return device;
  }

  async write(iface: string, update: DeviceUpdate): Promise<void> {
    await this.exchange(iface, formatSetRequest(update), 'wireguard.set');
  }

  exists(iface: string): Promise<boolean> {
    return this.transport.alive(iface);
  }

  async create(iface: string): Promise<{ pid?: number }> {
    const { pid } = await this.launcher.start(iface);
    return pid === undefined ? {} : { pid };
  }

  /** Deleting the TUN makes the daemon exit and remove its socket; wait for that. */
  async delete(iface: string): Promise<void> {
    if (!this.links)
      throw new UapiError('deleting a userspace interface needs rtnetlink', {
        operation: 'wireguard.delete',
        iface,
      });
    await this.links.delete(iface);
    for (let i = 0; i < 100 && (await this.transport.alive(iface)); i++) await sleep(20);
  }

  async close(): Promise<void> {}
}
