/**
 * `@wirekube/netlink/net`: the socket-free part of the kernel surface — IP, CIDR and endpoint parsing, prefix
 * containment and overlap, WireGuard key validation, the mesh sysctls and WireKube's tagged iptables rules as
 * data. Nothing reachable from here
 * opens a socket or loads a native module, so pure planners may import it.
 *
 * ```ts
 * import { canonicalCidr, cidrContains, isWireGuardKey, meshSysctls, parseCidr, parseIp, tryParseEndpoint } from '@wirekube/netlink/net';
 *
 * canonicalCidr('10.0.0.5/24'); // '10.0.0.0/24'
 * cidrContains(parseCidr('10.1.0.0/16'), parseIp('10.1.2.3')); // true
 * tryParseEndpoint('relay.example.com:3478'); // undefined: DNS names are not endpoints
 * isWireGuardKey(peer.spec.publicKey); // base64 of exactly 32 bytes
 * meshSysctls({ iface: 'wire_kube', ipForward: false }); // [{ key: ['net','ipv4','conf','wire_kube','rp_filter'], value: 2 }, ...]
 * ```
 */
// Tagged iptables rules are plain data too: planners may ask for them without touching iptables.
export type { IptablesTable, TaggedRule } from '../iptables/model.js';
export {
  type GatewayNatOptions,
  gatewayMasquerade,
  gatewaySnat,
  RELAY_LOOPBACK_COMMENT,
  relayLoopbackAccept,
} from '../iptables/rules.js';
export * from './ip.js';
export * from './key.js';
export * from './sysctls.js';
