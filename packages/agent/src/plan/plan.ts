import {
  ANNOTATIONS,
  FWMARK,
  FWMARK_RULE_PRIORITY,
  MAIN_TABLE,
  peerNameForNode,
  ROUTE_TABLE,
  RULE_PRIORITY,
  type WireKubePeer,
} from '@wirekube/crd-types';
import {
  type Cidr,
  cidrContains,
  formatCidr,
  formatIp,
  isHostCidr,
  maskCidr,
  meshSysctls,
  relayLoopbackAccept,
  type SysctlSetting,
  type TaggedRule,
  tryParseCidr,
  tryParseEndpoint,
  tryParseIp,
} from '@wirekube/netlink/net';
import { isKey } from './peer-check.js';
import { PrefixSet } from './prefix-set.js';
import { protectRules } from './protect.js';
import type { DesiredNode, DesiredPeer, DesiredRoute, DesiredRule, PlanInput, SkippedPeer } from './types.js';

type Prefix = Cidr;

/** A prefix as WireGuard and the FIB store it (host bits cleared); undefined when malformed. */
function parsePrefix(text: string): Prefix | undefined {
  const cidr = tryParseCidr(text);
  return cidr ? maskCidr(cidr) : undefined;
}

/** WireGuard drops a session this long after its handshake (REJECT_AFTER_TIME): older means not proven. */
export const HANDSHAKE_FRESH_MS = 180_000;

/** Keepalive interval below the 30 s conntrack timeout for unreplied UDP, so NAT mappings stay open. */
export const DEFAULT_KEEPALIVE_SECONDS = 25;

interface Candidate {
  peer: WireKubePeer;
  name: string;
  prefixes: Prefix[];
}

/**
 * The heart of the agent: from a snapshot of the cluster and of WireGuard, the node's whole desired kernel
 * state. Pure and deterministic (clashes decided by `claimOrder`, output in name order), so every decision is
 * testable from a table.
 */
export function plan(input: PlanInput): DesiredNode {
  const selfName = peerNameForNode(input.nodeName);
  const ownPrefixes = (input.self?.spec.allowedIPs ?? []).flatMap((p) => parsePrefix(p) ?? []);
  const skipped: SkippedPeer[] = [];
  const passive: string[] = [];
  const candidates = selectCandidates(input, selfName, ownPrefixes, skipped, passive);

  const connected = new Set(
    candidates
      .filter((c) => {
        const seen = input.observed.get(c.peer.spec.publicKey)?.lastHandshakeMs;
        return seen !== undefined && seen > 0 && input.nowMs - seen < HANDSHAKE_FRESH_MS;
      })
      .map((c) => c.name),
  );

  const peers = candidates.map((c) => desiredPeer(input, c, connected.has(c.name)));
  const { routes, withheld } = planRoutes(input, candidates, connected, ownPrefixes);
  return {
    device: {
      name: input.mesh.interfaceName,
      listenPort: input.mesh.listenPort,
      mtu: input.mesh.mtu,
      fwmark: FWMARK,
      privateKey: input.privateKey,
      peers,
    },
    routes,
    rules: [...protectRules(input.mainTableAddresses ?? []), ...planRules(routes)],
    sysctls: planSysctls(input.mesh.interfaceName),
    iptables: planIptables(input),
    skipped,
    passive,
    connected: [...connected],
    withheldRoutes: withheld,
  };
}

/**
 * Which peers become WireGuard peers. A bad peer object is skipped with a reason and never breaks the rest:
 * invalid or duplicate keys, this node's own key, and allowed IPs claimed by this node or by an earlier peer.
 */
function selectCandidates(
  input: PlanInput,
  selfName: string,
  ownPrefixes: Prefix[],
  skipped: SkippedPeer[],
  passive: string[],
): Candidate[] {
  const keyOwner = new Map<string, string>();
  const claimed = new PrefixSet<string>();
  for (const prefix of ownPrefixes) claimed.add(prefix, selfName);
  const out: Candidate[] = [];
  for (const peer of claimOrder(input)) {
    const name = peer.metadata.name ?? '';
    if (name === selfName || !name) continue;
    if (peer.metadata.deletionTimestamp) continue;
    const key = peer.spec?.publicKey;
    if (!isKey(key)) {
      skipped.push({
        name,
        reason: `publicKey is not a base64 WireGuard key (${JSON.stringify(key ?? null)})`,
      });
      continue;
    }
    if (key === input.publicKey) {
      skipped.push({ name, reason: "publicKey is this node's own key" });
      continue;
    }
    const owner = keyOwner.get(key);
    if (owner) {
      skipped.push({ name, reason: `publicKey is already used by ${owner}` });
      continue;
    }
    keyOwner.set(key, name);
    const allowed = peer.spec.allowedIPs ?? [];
    if (allowed.length === 0) {
      passive.push(name);
      continue;
    }
    const prefixes: Prefix[] = [];
    const problems: string[] = [];
    for (const text of allowed) {
      const prefix = parsePrefix(text);
      if (!prefix) {
        problems.push(`${text} is not a CIDR`);
        continue;
      }
      const clash = claimed.findOverlap(prefix);
      if (clash) {
        problems.push(`${text} overlaps ${formatCidr(clash.prefix)} of ${clash.owner}`);
        continue;
      }
      prefixes.push(prefix);
    }
    if (problems.length > 0) {
      skipped.push({ name, reason: `allowedIPs rejected: ${problems.join('; ')}` });
      continue;
    }
    for (const prefix of prefixes) claimed.add(prefix, name);
    out.push({ peer, name, prefixes });
  }
  const byName = (a: { name: string }, b: { name: string }) => compare(a.name, b.name);
  skipped.sort(byName);
  passive.sort(compare);
  return out.sort(byName);
}

/**
 * Who wins a clash over a key or a prefix. A peer already proven by a fresh handshake first, then the oldest
 * object, then the name: a newcomer (or an object edited to nonsense) must never take a working peer's
 * addresses away from it — with name order alone, a bogus `node-aaa` claiming a real peer's /32 cut that pair.
 */
function claimOrder(input: PlanInput): WireKubePeer[] {
  const proven = (peer: WireKubePeer) => {
    const seen = input.observed.get(peer.spec?.publicKey ?? '')?.lastHandshakeMs;
    return seen !== undefined && seen > 0 && input.nowMs - seen < HANDSHAKE_FRESH_MS ? 0 : 1;
  };
  const created = (peer: WireKubePeer) => {
    const at = peer.metadata.creationTimestamp;
    const ms = at === undefined ? Number.NaN : new Date(at).getTime();
    return Number.isFinite(ms) ? ms : Number.POSITIVE_INFINITY;
  };
  return [...input.peers].sort(
    (a, b) =>
      proven(a) - proven(b) ||
      (created(a) === created(b) ? 0 : created(a) < created(b) ? -1 : 1) ||
      compare(a.metadata.name ?? '', b.metadata.name ?? ''),
  );
}

function desiredPeer(input: PlanInput, candidate: Candidate, isConnected: boolean): DesiredPeer {
  const { peer } = candidate;
  const keepalives = [peer.spec.persistentKeepalive, input.self?.spec.persistentKeepalive].filter(
    (k): k is number => typeof k === 'number' && k > 0,
  );
  const desired: DesiredPeer = {
    name: candidate.name,
    publicKey: peer.spec.publicKey,
    // A symmetric-NAT peer's published port is a guess (its listen port, seed); the real one is only learned
    // when it reaches us, so WireGuard's roamed endpoint always wins for it (DESIGN.md lesson 5).
    keepRoamedEndpoint: isConnected || peer.status?.natType === 'symmetric',
    allowedIPs: candidate.prefixes.map((p) => formatCidr(p)),
  };
  const endpoint = chooseEndpoint(input, peer);
  if (endpoint) desired.endpoint = endpoint;
  const keepalive = keepalives.length > 0 ? Math.max(...keepalives) : undefined;
  if (keepalive) desired.persistentKeepalive = keepalive;
  return desired;
}

/**
 * The peer's public endpoint, except when it sits behind the same NAT as this node (same public IP): routers
 * rarely hairpin, so the peer's LAN address is the only one that works.
 */
function chooseEndpoint(input: PlanInput, peer: WireKubePeer): string | undefined {
  // WireGuard takes no DNS names and plan() must not resolve them: only literal ip:port endpoints count.
  const publicEndpoint = peer.spec.endpoint ? tryParseEndpoint(peer.spec.endpoint) : undefined;
  const internalText = peer.metadata.annotations?.[ANNOTATIONS.internalEndpoint];
  const internal = internalText ? tryParseEndpoint(internalText) : undefined;
  if (internal && publicEndpoint && input.publicIP && formatIp(publicEndpoint.bytes) === input.publicIP) {
    return internalText;
  }
  return publicEndpoint ? peer.spec.endpoint : undefined;
}

/**
 * Routes into table 22347. Default-deny (DESIGN.md lesson 1): host prefixes always (they are what lets traffic
 * start a handshake), wider prefixes only once the peer is proven by a fresh handshake, and never a prefix
 * that covers a protected address (the API server, the relay, this node's own addresses).
 */
function planRoutes(
  input: PlanInput,
  candidates: Candidate[],
  connected: ReadonlySet<string>,
  ownPrefixes: Prefix[],
): { routes: DesiredRoute[]; withheld: DesiredNode['withheldRoutes'] } {
  const protectedAddresses = input.protectedAddresses.flatMap((a) => tryParseIp(a) ?? []);
  const source = { 4: ownHostAddress(ownPrefixes, 4), 6: ownHostAddress(ownPrefixes, 6) };
  const routes: DesiredRoute[] = [];
  const withheld: DesiredNode['withheldRoutes'] = [];
  for (const candidate of candidates) {
    for (const prefix of candidate.prefixes) {
      const text = formatCidr(prefix);
      if (protectedAddresses.some((a) => cidrContains(prefix, a))) {
        withheld.push({ name: candidate.name, prefix: text, reason: 'covers a protected address' });
        continue;
      }
      if (!isHostCidr(prefix) && !connected.has(candidate.name)) {
        withheld.push({ name: candidate.name, prefix: text, reason: 'peer not proven by a handshake yet' });
        continue;
      }
      const route: DesiredRoute = { destination: text, device: input.mesh.interfaceName, table: ROUTE_TABLE };
      const src = source[prefix.family];
      if (src) route.source = src;
      routes.push(route);
    }
  }
  return { routes, withheld };
}

/** The first own AllowedIP of a family, as an address: the `src` the peer's AllowedIPs filter will accept. */
function ownHostAddress(ownPrefixes: Prefix[], family: 4 | 6): string | undefined {
  const first = ownPrefixes.find((p) => p.family === family);
  return first ? formatIp(first.bytes) : undefined;
}

/** IPv4 rules always; IPv6 rules only when something is routed over IPv6 (IPv6 may be disabled on the node). */
function planRules(routes: readonly DesiredRoute[]): DesiredRule[] {
  const families: Array<4 | 6> = routes.some((r) => r.destination.includes(':')) ? [4, 6] : [4];
  return families.flatMap((family) => [
    { family, priority: FWMARK_RULE_PRIORITY, table: MAIN_TABLE, fwmark: FWMARK },
    { family, priority: RULE_PRIORITY, table: ROUTE_TABLE },
  ]);
}

/**
 * Loose reverse-path filtering (replies from a peer arrive on the tunnel for sources the main table routes
 * elsewhere), no IPsec policy on the tunnel, accept_local for the relay proxy on loopback. Forwarding is left
 * to the node (Kubernetes nodes already forward); gateways turn it on themselves.
 */
function planSysctls(iface: string): SysctlSetting[] {
  return meshSysctls({ iface, ipForward: false });
}

/**
 * WireGuard's own packets to the relay proxy on 127.0.0.1 carry fwmark 0x574b; kube-proxy's KUBE-FIREWALL drops
 * non-local traffic to loopback, so the seed's exception goes first in that chain. Only where the chain exists:
 * the applier skips it otherwise and never creates the chain.
 */
function planIptables(input: PlanInput): TaggedRule[] {
  return input.relayProxy ? [relayLoopbackAccept(FWMARK)] : [];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
