import { afOf, type Cidr, familyOfAf, formatCidr, parseCidr } from '../net/ip.js';
import type { Links } from './links.js';
import { call, NLM_F_CREATE, NLM_F_EXCL, type RtnlSocket } from './socket.js';

export interface AddressInfo {
  index: number;
  iface: string;
  /** `address/prefix` as configured (host bits kept: `10.0.0.5/24`). */
  cidr: string;
  family: 4 | 6;
}

/** Interface addresses in the socket's namespace. */
export class Addresses {
  constructor(
    private readonly socket: RtnlSocket,
    private readonly links: Links,
  ) {}

  async list(iface?: string): Promise<AddressInfo[]> {
    const links = await this.links.list();
    const names = new Map(links.map((link) => [link.index, link.name]));
    const messages = await call({ operation: 'address.list', iface }, () => this.socket.getAddresses());
    const out: AddressInfo[] = [];
    for (const message of messages) {
      const family = familyOfAf(message.data.family ?? 0);
      const bytes = message.attrs.local ?? message.attrs.address;
      if (!family || !bytes) continue;
      const index = message.data.index ?? 0;
      const name = names.get(index) ?? '';
      if (iface !== undefined && name !== iface) continue;
      const cidr: Cidr = { family, bytes, prefix: message.data.prefixlen ?? 0 };
      out.push({ index, iface: name, cidr: formatCidr(cidr), family });
    }
    return out;
  }

  /** Adds `address/prefix` to the interface; false when it is already there. */
  async add(iface: string, cidrText: string): Promise<boolean> {
    const cidr = parseCidr(cidrText);
    const canonical = formatCidr(cidr);
    if ((await this.list(iface)).some((address) => address.cidr === canonical)) return false;
    const link = await this.links.require(iface, 'address.add');
    await call({ operation: 'address.add', iface, detail: { cidr: canonical } }, () =>
      this.socket.newAddress(
        { family: afOf(cidr.family), prefixlen: cidr.prefix, index: link.index },
        { local: cidr.bytes, address: cidr.bytes },
        { flags: NLM_F_CREATE | NLM_F_EXCL },
      ),
    );
    return true;
  }

  /** Removes `address/prefix` from the interface; false when it was not there. */
  async remove(iface: string, cidrText: string): Promise<boolean> {
    const cidr = parseCidr(cidrText);
    const canonical = formatCidr(cidr);
    const found = (await this.list(iface)).find((address) => address.cidr === canonical);
    if (!found) return false;
    await call({ operation: 'address.remove', iface, detail: { cidr: canonical } }, () =>
      this.socket.delAddress(
        { family: afOf(cidr.family), prefixlen: cidr.prefix, index: found.index },
        { local: cidr.bytes, address: cidr.bytes },
      ),
    );
    return true;
  }

  /** Makes the interface carry exactly `cidrs` of the given families (extra addresses removed). */
  async set(iface: string, cidrs: readonly string[]): Promise<{ added: string[]; removed: string[] }> {
    const wanted = new Set(cidrs.map((text) => formatCidr(parseCidr(text))));
    const current = await this.list(iface);
    const added: string[] = [];
    const removed: string[] = [];
    for (const address of current) {
      // IPv6 link-local addresses belong to the kernel, not to us.
      if (address.family === 6 && address.cidr.startsWith('fe80:')) continue;
      if (!wanted.has(address.cidr) && (await this.remove(iface, address.cidr))) removed.push(address.cidr);
    }
    for (const cidr of wanted) if (await this.add(iface, cidr)) added.push(cidr);
    return { added, removed };
  }
}
