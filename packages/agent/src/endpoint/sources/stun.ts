import { formatIp, tryParseEndpoint, tryParseIp } from '@wirekube/netlink';
import { mappedAddress } from '../../nat/classify.js';
import { type DiscoveryContext, type Endpoint, type EndpointSource, formatEndpoint } from '../types.js';

/**
 * The address the STUN servers saw. Behind a symmetric NAT the mapped port is only valid towards the STUN
 * server, so the endpoint is the public IP with the configured listen port (seed); behind a cone NAT the
 * mapping is the same for every destination and the mapped port is the one peers must use.
 */
export const stunSource: EndpointSource = {
  method: 'stun',
  async discover(ctx) {
    return stunEndpoint(ctx);
  },
};

/**
 * Pure: the endpoint one round of STUN answers stands for.
 *
 * While the preserved interface holds the WireGuard port the answers come from an ephemeral port: their public
 * IP is the node's, their port is not WireGuard's. So the published endpoint is kept while that IP still
 * matches it (its port was learned from WireGuard's own port), and replaced as soon as the IP moved — a DHCP
 * or ISP change must reach the peers. Only when STUN was tried and got no answer at all is a STUN-published
 * endpoint kept blindly (seed: "STUN may fail because the port is bound"); without STUN servers, or when the
 * endpoint came from another method, the later sources run again.
 */
export function stunEndpoint(ctx: DiscoveryContext): Endpoint | undefined {
  const mapped = mappedAddress(ctx.stun.observations);
  const previous = previousStunEndpoint(ctx);
  if (!mapped) {
    const tried = ctx.stun.observations.length > 0;
    return ctx.stun.portInUse && tried && previous ? { endpoint: previous.text, method: 'stun' } : undefined;
  }
  if (!ctx.stun.portInUse) {
    const port = ctx.stun.natType === 'symmetric' ? ctx.listenPort : mapped.port;
    return { endpoint: formatEndpoint(mapped.address, port), method: 'stun' };
  }
  if (previous && previous.address === canonicalIp(mapped.address))
    return { endpoint: previous.text, method: 'stun' };
  return { endpoint: formatEndpoint(mapped.address, heldPort(ctx, previous)), method: 'stun' };
}

/**
 * WireGuard's public port after the public IP moved, seen only from another local port. Symmetric NAT: the
 * listen port (seed). Cone NAT: the port the NAT gave WireGuard last time — the listen port itself when the NAT
 * preserves ports, another one for the second host behind one NAT — else the listen port.
 */
function heldPort(ctx: DiscoveryContext, previous: PreviousEndpoint | undefined): number {
  if (ctx.stun.natType === 'symmetric') return ctx.listenPort;
  return previous?.port ?? ctx.listenPort;
}

interface PreviousEndpoint {
  text: string;
  address: string;
  port: number;
}

/** The published endpoint, when STUN published it (another method's endpoint says nothing about STUN). */
function previousStunEndpoint(ctx: DiscoveryContext): PreviousEndpoint | undefined {
  const previous = ctx.previous;
  if (!previous?.endpoint || (previous.method !== undefined && previous.method !== 'stun')) return undefined;
  const parsed = tryParseEndpoint(previous.endpoint);
  return parsed ? { text: previous.endpoint, address: formatIp(parsed.bytes), port: parsed.port } : undefined;
}

function canonicalIp(text: string): string {
  const ip = tryParseIp(text);
  return ip ? formatIp(ip.bytes) : text;
}
