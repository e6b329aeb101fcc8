import { isIPv6 } from 'node:net';
import { type EndpointSource, formatEndpoint } from '../types.js';

/** Global unicast (2000::/3) needs no NAT traversal; link-local, ULA and loopback are not reachable from afar. */
export function isGlobalIPv6(address: string): boolean {
  if (!isIPv6(address)) return false;
  const first = Number.parseInt(address.split(':')[0] || '0', 16);
  return first >= 0x2000 && first <= 0x3fff;
}

export const ipv6Source: EndpointSource = {
  method: 'ipv6',
  async discover(ctx) {
    const global = ctx.hostAddresses.find(isGlobalIPv6);
    return global ? { endpoint: formatEndpoint(global, ctx.listenPort), method: 'ipv6' } : undefined;
  },
};
