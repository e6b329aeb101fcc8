import type { ResolvedMeshSpec, WireKubePeer } from '@wirekube/crd-types';
import type { SysctlSetting, TaggedRule } from '@wirekube/netlink/net';

/** What WireGuard reports for one peer (read through @wirekube/netlink). */
export interface ObservedPeer {
  publicKey: string;
  endpoint?: string;
  /** Milliseconds since the epoch; undefined or 0 when there never was a handshake. */
  lastHandshakeMs?: number;
  rxBytes: number;
  txBytes: number;
}

/** Everything plan() needs, already read. plan() does no I/O, so a snapshot fully determines its output. */
export interface PlanInput {
  nodeName: string;
  mesh: ResolvedMeshSpec;
  privateKey: string;
  publicKey: string;
  /** This node's own WireKubePeer, if it exists yet: its allowedIPs give the route source address. */
  self?: WireKubePeer;
  /** All WireKubePeers in the cluster (this node's own is recognised by name and ignored). */
  peers: readonly WireKubePeer[];
  /** WireGuard's per-peer state by public key. */
  observed: ReadonlyMap<string, ObservedPeer>;
  /** The address the internet sees for this node (its endpoint's IP): peers with the same one share its NAT. */
  publicIP?: string;
  /** Addresses that must never be routed into the tunnel: the API server, the relay, this node's own. */
  protectedAddresses: readonly string[];
  /**
   * A relay proxy on loopback carries some peer's traffic (or is about to): ask for the seed's loopback
   * exception in KUBE-FIREWALL. Undefined or false: no such rule, and an old one is removed.
   */
  relayProxy?: boolean;
  nowMs: number;
}

export interface DesiredPeer {
  /** WireKubePeer name, for logs, metrics and status. */
  name: string;
  publicKey: string;
  endpoint?: string;
  /**
   * True when WireGuard's current endpoint must be left alone if it differs: the peer is connected (any other
   * endpoint it uses was learned by roaming), or it is behind a symmetric NAT (DESIGN.md lesson 5). WireGuard
   * still gets `endpoint` when it has none for the peer.
   */
  keepRoamedEndpoint: boolean;
  allowedIPs: string[];
  persistentKeepalive?: number;
}

export interface DesiredRoute {
  destination: string;
  device: string;
  table: number;
  source?: string;
}

export interface DesiredRule {
  family: 4 | 6;
  priority: number;
  table: number;
  fwmark?: number;
}

export interface SkippedPeer {
  name: string;
  reason: string;
}

/** One node's whole desired kernel state. Appliers make the kernel match it, changing only what differs. */
export interface DesiredNode {
  device: {
    name: string;
    listenPort: number;
    mtu: number;
    fwmark: number;
    privateKey: string;
    peers: DesiredPeer[];
  };
  routes: DesiredRoute[];
  rules: DesiredRule[];
  /** Sysctls, keyed by path segments (interface names may contain dots). */
  sysctls: SysctlSetting[];
  /** WireKube's tagged iptables rules (`family` 4 unless said); every other tagged rule is removed. */
  iptables: TaggedRule[];
  /** Peers left out, with the reason: each becomes an Event and a log line. */
  skipped: SkippedPeer[];
  /** Peers with empty allowedIPs: no routes and no WireGuard config (seed). */
  passive: string[];
  /** Names of peers whose last handshake is recent enough to count as proven. */
  connected: string[];
  /** Prefixes not routed because they cover a protected address, by peer. */
  withheldRoutes: Array<{ name: string; prefix: string; reason: string }>;
}
