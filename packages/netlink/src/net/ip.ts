// Pure address arithmetic: no node:net (the socket module), so that plans can parse addresses without
// pulling I/O code in. Bytes are network order, as the kernel and WireGuard want them.

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

export function bitsOf(family: IpFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

const GROUP = /^[0-9A-Fa-f]{1,4}$/;

function ipv4Bytes(text: string): Buffer | undefined {
  // By hand rather than split + regex: plans parse every peer's prefixes and endpoints on every pass.
  const out = Buffer.allocUnsafe(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 46;
    if (code === 46) {
      if (digits === 0 || part > 3) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (code >= 48 && code <= 57) {
      // No leading zeros (as inet_pton and node:net refuse them), nothing above 255.
      if (digits > 0 && value === 0) return undefined;
      value = value * 10 + (code - 48);
      digits++;
      if (value > 255) return undefined;
    } else return undefined;
  }
  return part === 4 ? out : undefined;
}

function ipv6Bytes(text: string): Buffer | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string): string[] | undefined => (half === '' ? [] : half.split(':'));
  const left = groupsOf(halves[0] ?? '');
  const right = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if (!left || !right) return undefined;
  // An embedded dotted quad (::ffff:192.0.2.1) may only end the address and stands for two groups.
  const tail = halves.length === 2 ? right : left;
  let v4: Buffer | undefined;
  const last = tail.at(-1);
  if (last?.includes('.')) {
    v4 = ipv4Bytes(last);
    if (!v4) return undefined;
    tail.pop();
  }
  const explicit = left.length + right.length + (v4 ? 2 : 0);
  if (![...left, ...right].every((group) => GROUP.test(group))) return undefined;
  if (halves.length === 2 ? explicit > 7 : explicit !== 8) return undefined;
  const groups = [...left, ...Array<string>(8 - explicit).fill('0'), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((group, i) => {
    out.writeUInt16BE(Number.parseInt(group, 16), i * 2);
  });
  v4?.copy(out, 12);
  return out;
}

/** Parses an IPv4 or IPv6 address (no zone index); undefined when it is neither. */
export function tryParseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) {
    const bytes = ipv6Bytes(text);
    return bytes ? { family: 6, bytes } : undefined;
  }
  const bytes = ipv4Bytes(text);
  return bytes ? { family: 4, bytes } : undefined;
}

export function parseIp(text: string): IpAddress {
  const ip = tryParseIp(text);
  if (!ip) throw new TypeError(`not an IP address: ${JSON.stringify(text)}`);
  return ip;
}

export function isIp(text: string): boolean {
  return tryParseIp(text) !== undefined;
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

/** The canonical spelling of an address (RFC 5952 for IPv6); undefined when malformed. */
export function canonicalIp(text: string): string | undefined {
  const ip = tryParseIp(text);
  return ip ? formatIp(ip.bytes) : undefined;
}

/** Parses `addr/len` (a bare address means a host prefix); undefined when malformed. */
export function tryParseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const ip = tryParseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return undefined;
  const max = bitsOf(ip.family);
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
  if (!hostBitsSet(cidr)) return cidr;
  return { family: cidr.family, bytes: maskBytes(cidr.bytes, cidr.prefix), prefix: cidr.prefix };
}

function maskBytes(bytes: Uint8Array, prefix: number): Buffer {
  const out = Buffer.from(bytes);
  const whole = prefix >> 3;
  if (whole < out.length) {
    out[whole] = (out[whole] ?? 0) & (0xff << (8 - (prefix & 7)));
    out.fill(0, whole + 1);
  }
  return out;
}

function hostBitsSet(cidr: Cidr): boolean {
  const whole = cidr.prefix >> 3;
  if (whole >= cidr.bytes.length) return false;
  if (((cidr.bytes[whole] ?? 0) & (0xff >> (cidr.prefix & 7))) !== 0) return true;
  for (let i = whole + 1; i < cidr.bytes.length; i++) if (cidr.bytes[i] !== 0) return true;
  return false;
}

export function hasHostBits(cidr: Cidr): boolean {
  return hostBitsSet(cidr);
}

/** A prefix naming one address (/32, /128). */
export function isHostCidr(cidr: Cidr): boolean {
  return cidr.prefix === bitsOf(cidr.family);
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.bytes)}/${cidr.prefix}`;
}

/** The one spelling of a prefix we compare on: masked, RFC 5952, explicit length. */
export function canonicalCidr(text: string): string {
  return formatCidr(maskCidr(parseCidr(text)));
}

/** Whether `address` lies inside `cidr`; never across families. */
export function cidrContains(cidr: Cidr, address: IpAddress): boolean {
  if (cidr.family !== address.family) return false;
  // Byte by byte without allocating: plans call this for every prefix against every protected address.
  const whole = cidr.prefix >> 3;
  for (let i = 0; i < whole; i++) if (cidr.bytes[i] !== address.bytes[i]) return false;
  const rest = cidr.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((cidr.bytes[whole] ?? 0) & mask) === ((address.bytes[whole] ?? 0) & mask);
}

/** Two prefixes overlap exactly when the shorter one contains the longer one's network. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const [shorter, longer] = a.prefix <= b.prefix ? [a, b] : [b, a];
  return cidrContains(shorter, longer);
}

/** Parses `1.2.3.4:51820` or `[2001:db8::1]:51820`; undefined when malformed (DNS names included). */
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
