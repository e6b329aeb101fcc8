import { ifla } from 'netlink';
import { NetlinkError } from '../errors.js';
import { cString, nla } from '../nla/attributes.js';
import { call, NLM_F_CREATE, NLM_F_EXCL, type RtnlSocket } from './socket.js';

export interface LinkInfo {
  index: number;
  name: string;
  /** rtnl_link_ops kind (`wireguard`, `veth`, `dummy`...); undefined for devices without one (a TUN has `tun`). */
  kind?: string;
  mtu?: number;
  up: boolean;
  /** Lower layer is up (carrier). */
  lowerUp: boolean;
}

// IFLA_LINKINFO → IFLA_INFO_KIND (linux/if_link.h).
const IFLA_INFO_KIND = 1;

// The `netlink` package wraps this payload in IFLA_LINKINFO itself; we supply the nested IFLA_INFO_KIND.
const linkInfoKind = (kind: string): Buffer => nla(IFLA_INFO_KIND, cString(kind));

/** Links (network interfaces) in the socket's namespace. */
export class Links {
  constructor(private readonly socket: RtnlSocket) {}

  async list(): Promise<LinkInfo[]> {
    const messages = await call({ operation: 'link.list' }, () => this.socket.getLinks());
    return messages.map((message) => {
      const info: LinkInfo = {
        index: message.data.index ?? 0,
        name: message.attrs.ifname ?? '',
        up: message.data.flags?.up === true,
        lowerUp: message.data.flags?.lowerUp === true,
      };
      if (message.attrs.mtu !== undefined) info.mtu = message.attrs.mtu;
      if (message.attrs.linkinfo) {
        const kind = ifla.parseInfo(message.attrs.linkinfo).kind;
        if (kind) info.kind = kind.replace(/\0+$/, '');
      }
      return info;
    });
  }

  async get(name: string): Promise<LinkInfo | undefined> {
    return (await this.list()).find((link) => link.name === name);
  }

  /** The link, or a NetlinkError with ENODEV. */
  async require(name: string, operation: string): Promise<LinkInfo> {
    const link = await this.get(name);
    if (!link) {
      throw new NetlinkError(`${operation} failed: no interface ${name}`, {
        operation,
        iface: name,
        errno: 19,
        code: 'ENODEV',
      });
    }
    return link;
  }

  /** Creates a link of the given kind (`ip link add NAME type KIND`); EEXIST if it exists. */
  async create(name: string, kind: string, options: { mtu?: number } = {}): Promise<LinkInfo> {
    await call({ operation: 'link.create', iface: name, detail: { kind } }, () =>
      this.socket.newLink(
        {},
        { ifname: name, linkinfo: linkInfoKind(kind), ...(options.mtu ? { mtu: options.mtu } : {}) },
        { flags: NLM_F_CREATE | NLM_F_EXCL },
      ),
    );
    return this.require(name, 'link.create');
  }

  /** Deletes a link; false when it did not exist. */
  async delete(name: string): Promise<boolean> {
    const link = await this.get(name);
    if (!link) return false;
    await call({ operation: 'link.delete', iface: name }, () => this.socket.delLink({ index: link.index }));
    return true;
  }

  /** Sets the MTU; false when it already had it. */
  async setMtu(name: string, mtu: number): Promise<boolean> {
    const link = await this.require(name, 'link.setMtu');
    if (link.mtu === mtu) return false;
    await call({ operation: 'link.setMtu', iface: name, detail: { mtu } }, () =>
      this.socket.setLink({ index: link.index }, { mtu }),
    );
    return true;
  }

  /** Brings the link up or down; false when it already was. */
  async setUp(name: string, up: boolean): Promise<boolean> {
    const link = await this.require(name, up ? 'link.up' : 'link.down');
    if (link.up === up) return false;
    await call({ operation: up ? 'link.up' : 'link.down', iface: name }, () =>
      this.socket.setLink({ index: link.index, flags: up ? { up: true } : {}, change: { up: true } }),
    );
    return true;
  }
}
