// WGPEER_A_ENDPOINT carries a raw struct sockaddr_in (16 bytes) or sockaddr_in6 (28 bytes): family in host
// order, port and address in network order.
import { AF_INET, AF_INET6, type Endpoint, familyOfAf, formatEndpoint, parseEndpoint } from '../../net/ip.js';
import { LITTLE_ENDIAN } from '../../nla/attributes.js';

export function encodeSockaddr(text: string): Buffer {
  const endpoint = parseEndpoint(text);
  const out = Buffer.alloc(endpoint.family === 4 ? 16 : 28);
  if (LITTLE_ENDIAN) out.writeUInt16LE(endpoint.family === 4 ? AF_INET : AF_INET6, 0);
  else out.writeUInt16BE(endpoint.family === 4 ? AF_INET : AF_INET6, 0);
  out.writeUInt16BE(endpoint.port, 2);
  // sockaddr_in6 has sin6_flowinfo (u32) before the address; sockaddr_in puts the address right after the port.
  out.set(endpoint.bytes, endpoint.family === 4 ? 4 : 8);
  return out;
}

/** Undefined for AF_UNSPEC (a peer with no endpoint yet) or a family we do not know. */
export function decodeSockaddr(data: Buffer): string | undefined {
  if (data.length < 2) return undefined;
  const family = familyOfAf(LITTLE_ENDIAN ? data.readUInt16LE(0) : data.readUInt16BE(0));
  if (family === 4 && data.length >= 8) {
    const endpoint: Endpoint = {
      family,
      port: data.readUInt16BE(2),
      bytes: Buffer.from(data.subarray(4, 8)),
    };
    return formatEndpoint(endpoint);
  }
  if (family === 6 && data.length >= 24) {
    const endpoint: Endpoint = {
      family,
      port: data.readUInt16BE(2),
      bytes: Buffer.from(data.subarray(8, 24)),
    };
    return formatEndpoint(endpoint);
  }
  return undefined;
}
