import type { TaggedRule } from './model.js';

/** The comment the seed's cleanup job deletes by: keep it byte-exact. */
export const RELAY_LOOPBACK_COMMENT = 'wirekube: allow WG relay proxy on loopback';

const hexMark = (mark: number): string => `0x${mark.toString(16)}`;

/**
 * Lets WireGuard's own packets (marked `fwmark`) reach the relay proxy on 127.0.0.0/8 although kube-proxy's
 * KUBE-FIREWALL drops non-local traffic to loopback; first in the chain so it precedes that DROP.
 */
export function relayLoopbackAccept(fwmark: number, options: { chain?: string } = {}): TaggedRule {
  return {
    table: 'filter',
    chain: options.chain ?? 'KUBE-FIREWALL',
    spec: ['-d', '127.0.0.0/8', '-m', 'mark', '--mark', hexMark(fwmark), '-j', 'ACCEPT'],
    comment: RELAY_LOOPBACK_COMMENT,
    position: 'first',
  };
}

export interface GatewayNatOptions {
  /** Traffic arriving from the mesh (e.g. `10.0.0.0/24`); omitted = any source. */
  source?: string;
  /** The network behind the gateway (a WireKubeGateway route CIDR). */
  destination: string;
  /** Interface towards that network; omitted = any. */
  outInterface?: string;
}

function selectors(options: GatewayNatOptions): string[] {
  const args: string[] = [];
  if (options.source) args.push('-s', options.source);
  args.push('-d', options.destination);
  if (options.outInterface) args.push('-o', options.outInterface);
  return args;
}

/** MASQUERADE for mesh traffic a gateway forwards into its network (WireKubeGateway snat without sourceIP). */
export function gatewayMasquerade(options: GatewayNatOptions): TaggedRule {
  return {
    table: 'nat',
    chain: 'POSTROUTING',
    spec: [...selectors(options), '-j', 'MASQUERADE'],
    comment: `wirekube: gateway masquerade to ${options.destination}`,
  };
}

/** SNAT to a fixed address (WireKubeGateway snat.sourceIP). */
export function gatewaySnat(options: GatewayNatOptions & { toSource: string }): TaggedRule {
  return {
    table: 'nat',
    chain: 'POSTROUTING',
    spec: [...selectors(options), '-j', 'SNAT', '--to-source', options.toSource],
    comment: `wirekube: gateway snat to ${options.destination}`,
  };
}
