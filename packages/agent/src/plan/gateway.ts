import {
  IPTABLES_COMMENT_PREFIX,
  ROUTE_TABLE,
  type WireKubeGateway,
  type WireKubePeer,
} from '@wirekube/crd-types';
import {
  type Cidr,
  cidrContains,
  formatCidr,
  formatIp,
  maskCidr,
  type TaggedRule,
  tryParseCidr,
  tryParseEndpoint,
} from '@wirekube/netlink/net';
import type { DesiredNode, DesiredRoute } from './types.js';

/** What this node must do for the WireKubeGateways, from their spec and the controller's status. */
export interface GatewayPlanInput {
  /** This node's WireKubePeer name (`node-<node>`). */
  selfName: string;
  self?: WireKubePeer;
  peers: readonly WireKubePeer[];
  gateways: readonly WireKubeGateway[];
  /** Never covered by a gateway route: the API server, the relay, this node's own addresses. */
  protectedAddresses: readonly string[];
  interfaceName: string;
}

export type GatewayRole = 'client' | 'active-gateway' | 'standby-gateway' | 'excluded' | 'not-ready';

export interface RefusedGatewayRoute {
  gateway: string;
  cidr: string;
  reason: string;
}

export interface GatewayDataplane {
  /** Gateway CIDRs to add to a peer's WireGuard AllowedIPs, by WireKubePeer name (on clients). */
  allowedIPs: Map<string, string[]>;
  /** Routes for those CIDRs in table 22347, with `src` (on clients). */
  routes: DesiredRoute[];
  /** This node is an active gateway: it forwards from the tunnel into the routes. */
  forwarding: boolean;
  /** Tagged rules on an active gateway: FORWARD accepts and, with snat.enabled, the source NAT. */
  iptables: TaggedRule[];
  /** Routes refused on this node, each worth an Event on the gateway. */
  refused: RefusedGatewayRoute[];
  /** This node's role per gateway, for logs and metrics. */
  roles: Map<string, GatewayRole>;
}

/** Every gateway rule's comment starts with this; it starts with the owner tag, so cleanup removes them too. */
export const GATEWAY_RULE_TAG = `${IPTABLES_COMMENT_PREFIX} gateway`;

export function gatewayRuleComment(gateway: string, what: string): string {
  return `${GATEWAY_RULE_TAG} ${gateway} ${what}`;
}

/**
 * The gateway part of the node's desired state. Pure. Gateways are handled in name order, so when two claim
 * the same CIDR the first keeps it and the second is refused (WireGuard gives one prefix to one peer only).
 */
export function planGateways(input: GatewayPlanInput): GatewayDataplane {
  const out: GatewayDataplane = {
    allowedIPs: new Map(),
    routes: [],
    forwarding: false,
    iptables: [],
    refused: [],
    roles: new Map(),
  };
  const ownPrefixes = prefixesOf(input.self);
  const source = ownPrefixes.find((p) => p.family === 4);
  const protectedAddresses = input.protectedAddresses.flatMap((a) => tryParseCidr(hostOnly(a)) ?? []);
  const peerPrefixes = new Map<string, Cidr[]>(
    input.peers.map((p) => [p.metadata.name ?? '', prefixesOf(p)] as const),
  );
  const claimed = new Map<string, string>();
  for (const [name, prefixes] of peerPrefixes) {
    if (name !== input.selfName) for (const p of prefixes) claimed.set(formatCidr(maskCidr(p)), name);
  }

  const sorted = [...input.gateways].sort((a, b) => compare(a.metadata.name ?? '', b.metadata.name ?? ''));
  for (const gateway of sorted) {
    const name = gateway.metadata.name ?? '';
    if (!name || gateway.metadata.deletionTimestamp) continue;
    const routes = gateway.spec.routes.flatMap((r) => {
      const cidr = tryParseCidr(r.cidr);
      if (!cidr) out.refused.push({ gateway: name, cidr: r.cidr, reason: 'routes[].cidr is not a CIDR' });
      return cidr ? [maskCidr(cidr)] : [];
    });
    const role = roleOf(input, gateway, ownPrefixes, routes);
    out.roles.set(name, role);
    const active = gateway.status?.activePeer ?? '';
    if (role === 'active-gateway') {
      out.forwarding = true;
      out.iptables.push(...gatewayRules(input, gateway, routes, peerPrefixes, source));
      continue;
    }
    if (role !== 'client') continue;
    for (const route of routes) {
      const text = formatCidr(route);
      const reason = refusal(route, text, protectedAddresses, ownPrefixes, claimed, active);
      if (reason) {
        out.refused.push({ gateway: name, cidr: text, reason });
        continue;
      }
      claimed.set(text, active);
      out.allowedIPs.set(active, [...(out.allowedIPs.get(active) ?? []), text]);
      const desired: DesiredRoute = { destination: text, device: input.interfaceName, table: ROUTE_TABLE };
      if (source) desired.source = formatIp(source.bytes);
      out.routes.push(desired);
    }
  }
  return out;
}

/**
 * Gateway peers are never clients. With clientRefs only the listed peers are; without, every other peer
 * except those whose own AllowedIPs sit inside a gateway route (they are in that network already).
 */
function roleOf(
  input: GatewayPlanInput,
  gateway: WireKubeGateway,
  ownPrefixes: readonly Cidr[],
  routes: readonly Cidr[],
): GatewayRole {
  const { spec, status } = gateway;
  const ready = status?.ready === true && !!status.activePeer && spec.peerRefs.includes(status.activePeer);
  if (spec.peerRefs.includes(input.selfName)) {
    return ready && status?.activePeer === input.selfName ? 'active-gateway' : 'standby-gateway';
  }
  const clients = spec.clientRefs ?? [];
  if (clients.length > 0 && !clients.includes(input.selfName)) return 'excluded';
  if (clients.length === 0 && ownPrefixes.some((own) => routes.some((r) => covers(r, own))))
    return 'excluded';
  return ready ? 'client' : 'not-ready';
}

function refusal(
  route: Cidr,
  text: string,
  protectedAddresses: readonly Cidr[],
  ownPrefixes: readonly Cidr[],
  claimed: ReadonlyMap<string, string>,
  active: string,
): string | undefined {
  const hit = protectedAddresses.find((a) => covers(route, a));
  if (hit) return `covers protected address ${formatIp(hit.bytes)} (API server, relay or this node)`;
  const own = ownPrefixes.find((p) => covers(route, p) || covers(p, route));
  if (own) return `overlaps this node's own ${formatCidr(own)}`;
  const owner = claimed.get(text);
  if (owner && owner !== active) return `${text} is already routed to ${owner}`;
  return undefined;
}

/**
 * On the active gateway: accept forwarding between the tunnel and the routes (a FORWARD policy of DROP is
 * common on nodes), and with snat.enabled rewrite mesh sources into the routes so replies come back here
 * without the remote network knowing mesh addresses. Sources are the mesh peers' AllowedIPs, because
 * POSTROUTING cannot match the input interface.
 */
function gatewayRules(
  input: GatewayPlanInput,
  gateway: WireKubeGateway,
  routes: readonly Cidr[],
  peerPrefixes: ReadonlyMap<string, Cidr[]>,
  source: Cidr | undefined,
): TaggedRule[] {
  const name = gateway.metadata.name ?? '';
  const rules: TaggedRule[] = [];
  const snat = gateway.spec.snat;
  const toSource = snat?.sourceIP || (source ? formatIp(source.bytes) : '');
  const jump = toSource ? ['-j', 'SNAT', '--to-source', toSource] : ['-j', 'MASQUERADE'];
  for (const route of routes) {
    const cidr = formatCidr(route);
    rules.push(
      {
        table: 'filter',
        chain: 'FORWARD',
        spec: ['-d', cidr, '-i', input.interfaceName, '-j', 'ACCEPT'],
        comment: gatewayRuleComment(name, `forward to ${cidr}`),
        position: 'first',
      },
      {
        table: 'filter',
        chain: 'FORWARD',
        spec: ['-s', cidr, '-o', input.interfaceName, '-j', 'ACCEPT'],
        comment: gatewayRuleComment(name, `forward from ${cidr}`),
        position: 'first',
      },
    );
    if (!snat?.enabled) continue;
    const sources = [...peerPrefixes]
      .filter(([peer]) => peer !== input.selfName && !gateway.spec.peerRefs.includes(peer))
      .flatMap(([, prefixes]) => prefixes.filter((p) => p.family === 4 && !covers(route, p)))
      .map((p) => formatCidr(maskCidr(p)))
      .sort();
    for (const from of new Set(sources)) {
      rules.push({
        table: 'nat',
        chain: 'POSTROUTING',
        spec: ['-s', from, '-d', cidr, ...jump],
        comment: gatewayRuleComment(name, `snat ${from} to ${cidr}`),
      });
    }
  }
  return rules;
}

/**
 * Merges the gateway plan into the node's plan: routes CIDRs go on the active gateway's WireGuard peer and
 * into table 22347, forwarding is switched on for an active gateway. A gateway peer that plan() left out
 * (skipped or passive) gets nothing, and its routes are refused.
 */
export function withGateways(desired: DesiredNode, gateways: GatewayDataplane): DesiredNode {
  const withheld = [...desired.withheldRoutes];
  const configured = new Set(desired.device.peers.map((p) => p.name));
  const proven = new Set(desired.connected);
  const peers = desired.device.peers.map((peer) => {
    const extra = gateways.allowedIPs.get(peer.name);
    return extra ? { ...peer, allowedIPs: [...peer.allowedIPs, ...extra] } : peer;
  });
  const routes = [...desired.routes];
  for (const [peer, cidrs] of gateways.allowedIPs) {
    for (const cidr of cidrs) {
      // Default-deny (DESIGN.md lesson 1): a wide route goes to a peer only once a handshake proved it.
      const reason = !configured.has(peer)
        ? 'gateway peer is not a configured WireGuard peer'
        : proven.has(peer)
          ? undefined
          : 'peer not proven by a handshake yet';
      if (reason) withheld.push({ name: peer, prefix: cidr, reason });
      else routes.push(...gateways.routes.filter((r) => r.destination === cidr));
    }
  }
  const sysctls = gateways.forwarding
    ? [
        ...desired.sysctls.filter((s) => s.key.join('.') !== 'net.ipv4.ip_forward'),
        { key: ['net', 'ipv4', 'ip_forward'], value: 1 },
      ]
    : desired.sysctls;
  return {
    ...desired,
    device: { ...desired.device, peers },
    routes,
    sysctls,
    iptables: [...desired.iptables, ...gateways.iptables],
    withheldRoutes: withheld,
  };
}

function prefixesOf(peer: WireKubePeer | undefined): Cidr[] {
  return (peer?.spec.allowedIPs ?? []).flatMap((text) => tryParseCidr(text) ?? []);
}

/** `ip:port` or `[ip]:port` to the bare address; anything else unchanged. */
function hostOnly(address: string): string {
  const endpoint = tryParseEndpoint(address);
  return endpoint ? formatIp(endpoint.bytes) : address;
}

/** `outer` contains every address of `inner`. */
function covers(outer: Cidr, inner: Cidr): boolean {
  return outer.prefix <= inner.prefix && cidrContains(outer, inner);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
