/**
 * Names and numbers that every WireKube component must agree on. They are part of the contract in the seed
 * documents (CRD reference, node management): changing one breaks upgrades and the cleanup job.
 */

export const GROUP = 'wirekube.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;

/** The mesh configuration object every agent reads. */
export const DEFAULT_MESH_NAME = 'default';

/** Policy-routing table holding routes to peers' AllowedIPs. */
export const ROUTE_TABLE = 22347;
/** Priority of the `ip rule` that looks up {@link ROUTE_TABLE}. */
export const RULE_PRIORITY = 200;
/**
 * Priority of the rule that sends packets carrying {@link FWMARK} (WireGuard's own UDP) to the main table. It
 * must be evaluated before {@link RULE_PRIORITY}, or a peer whose AllowedIPs cover its own endpoint would loop.
 */
export const FWMARK_RULE_PRIORITY = 199;
/** The kernel's main routing table. */
export const MAIN_TABLE = 254;
/** fwmark on WireGuard's own socket ("WK"), so its packets bypass the mesh table and never loop. */
export const FWMARK = 0x574b;
/** Where the node's WireGuard key material lives. */
export const KEY_DIR = '/var/lib/wirekube';
/** Default WireGuard interface name (mesh `spec.interfaceName`). */
export const DEFAULT_INTERFACE_NAME = 'wire_kube';
/** Tag in the comment of every iptables rule WireKube owns; cleanup and reconcile act only on tagged rules. */
export const IPTABLES_COMMENT_PREFIX = 'wirekube:';

export const LABELS = {
  /** On a WireKubePeer: the Node it represents. */
  node: `${GROUP}/node`,
  /** On a Node: schedules the agent DaemonSet there. */
  vpnEnabled: `${GROUP}/vpn-enabled`,
} as const;

export const ANNOTATIONS = {
  /** On a Node: a manually configured public endpoint `ip:port` (endpoint discovery method `annotation`). */
  endpoint: `${GROUP}/endpoint`,
  /**
   * On a WireKubePeer, written by its agent: the node's address on its own LAN (`ip:port`). Peers that sit behind
   * the same NAT use it instead of the public endpoint, because NAT routers rarely hairpin.
   */
  internalEndpoint: `${GROUP}/internal-endpoint`,
} as const;

const PEER_NAME_PREFIX = 'node-';

/** WireKubePeer objects are named `node-<node-name>` (seed naming convention). */
export function peerNameForNode(nodeName: string): string {
  return `${PEER_NAME_PREFIX}${nodeName}`;
}

/** Inverse of {@link peerNameForNode}; `undefined` for a name that does not follow the convention. */
export function nodeNameForPeer(peerName: string): string | undefined {
  return peerName.startsWith(PEER_NAME_PREFIX) && peerName.length > PEER_NAME_PREFIX.length
    ? peerName.slice(PEER_NAME_PREFIX.length)
    : undefined;
}
