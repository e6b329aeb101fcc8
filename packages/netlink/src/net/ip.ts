import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

/** An address as the kernel sees it: family plus network-order bytes (4 or 16). */
export interface IpAddress {
  family: IpFamily;
  bytes: Buffer;
}

/** A prefix: address plus prefix length. */
export interface Cidr extends IpAddress {
  prefix: number;
}

/** An `ip:port` pair; IPv6 endpoints are written `[addr]:port`. */
export interface Endpoint extends IpAddress {
  port: number;
}

export const AF_INET = 2;
export const AF_INET6 = 10;

export function afOf(family: IpFamily): number {
  return family === 4 ? AF_INET : AF_INET6;
}

export function familyOfAf(af: number): IpFamily | undefined {
  if (af === AF_INET) return 4;
  if (af === AF_INET6) return 6;
  return undefined;
}

function ipv6Bytes(text: string): Buffer {
  // Expand `::` and an embedded dotted quad by hand: node:net validates but never returns bytes.
  let head = text;
  let tailV4: number[] = [];
  const lastColon = head.lastIndexOf(':');
  const lastGroup = head.slice(lastColon + 1);
  if (lastGroup.includes('.')) {
    tailV4 = lastGroup.split('.').map(Number);
    head = `${head.slice(0, lastColon + 1)}0:0`;
  }
  const [left = '', right] = head.split('::');
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === undefined || right === '' ? [] : right.split(':');
  const missing = 8 - leftGroups.length - rightGroups.length;
  const groups =
    right === undefined ? leftGroups : [...leftGroups, ...Array(missing).fill('0'), ...rightGroups];
  const out = Buffer.alloc(16);
  groups.forEach((group, i) => {
    out.writeUInt16BE(Number.parseInt(group, 16), i * 2);
  });
  if (tailV4.length === 4) Buffer.from(tailV4).copy(out, 12);
  return out;
}

/** Parses an IPv4 or IPv6 address; undefined when it is neither. */
export function tryParseIp(text: string): IpAddress | undefined {
  if (isIPv4(text)) return { family: 4, bytes: Buffer.from(text.split('.').map(Number)) };
  if (isIPv6(text) && !text.includes('%')) return { family: 6, bytes: ipv6Bytes(text) };
  return undefined;
}

export function parseIp(text: string): IpAddress {
  const ip = tryParseIp(text);
  if (!ip) throw new TypeError(`not an IP address: ${JSON.stringify(text)}`);
  return ip;
}

/** Bytes → text; IPv6 in RFC 5952 form (longest zero run compressed, lower case). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new TypeError(`address must be 4 or 16 bytes, got ${bytes.length}`);
  const view = Buffer.from(bytes);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(view.readUInt16BE(i));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Parses `addr/len` (a bare address means a host prefix); undefined when malformed. */
export function tryParseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const ip = tryParseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  if (slash < 0) return { ...ip, prefix: max };
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const prefix = Number(lenText);
  if (prefix > max) return undefined;
  return { ...ip, prefix };
}

export function parseCidr(text: string): Cidr {
  const cidr = tryParseCidr(text);
  if (!cidr) throw new TypeError(`not a CIDR: ${JSON.stringify(text)}`);
  return cidr;
}

/** Clears the host bits (what WireGuard and the FIB do to a prefix). */
export function maskCidr(cidr: Cidr): Cidr {
  const bytes = Buffer.from(cidr.bytes);
  for (let bit = cidr.prefix; bit < bytes.length * 8; bit++) {
    const index = bit >> 3;
    bytes[index] = (bytes[index] ?? 0) & ~(0x80 >> (bit & 7));
  }
  return { family: cidr.family, bytes, prefix: cidr.prefix };
}

export function hasHostBits(cidr: Cidr): boolean {
  return !maskCidr(cidr).bytes.equals(cidr.bytes);
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.bytes)}/${cidr.prefix}`;
}

/** The one spelling of a prefix we compare on: masked, RFC 5952, explicit length. */
export function canonicalCidr(text: string): string {
  return formatCidr(maskCidr(parseCidr(text)));
}

/** Parses `1.2.3.4:51820` or `[2001:db8::1]:51820`; undefined when malformed. */
export function tryParseEndpoint(text: string): Endpoint | undefined {
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:]+):(\d{1,5})$/.exec(text);
  if (!match?.[1] || !match[2]) return undefined;
  const ip = tryParseIp(match[1]);
  const port = Number(match[2]);
  if (!ip || port < 1 || port > 65535) return undefined;
  if (match[0].startsWith('[') !== (ip.family === 6)) return undefined;
  return { ...ip, port };
}

export function parseEndpoint(text: string): Endpoint {
  const endpoint = tryParseEndpoint(text);
  if (!endpoint) throw new TypeError(`not an endpoint (ip:port): ${JSON.stringify(text)}`);
  return endpoint;
}

export function formatEndpoint(endpoint: Endpoint): string {
  const ip = formatIp(endpoint.bytes);
  return endpoint.family === 6 ? `[${ip}]:${endpoint.port}` : `${ip}:${endpoint.port}`;
}

/** One spelling of an endpoint, so `[2001:DB8:0::1]:1` and `[2001:db8::1]:1` compare equal. */
export function canonicalEndpoint(text: string): string {
  return formatEndpoint(parseEndpoint(text));
}
