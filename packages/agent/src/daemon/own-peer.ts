import { ANNOTATIONS, API_VERSION, LABELS, peerNameForNode, type WireKubePeer } from '@wirekube/crd-types';

/** What this agent publishes about its node. allowedIPs is not here: it belongs to the user (seed). */
export interface OwnPeerFacts {
  nodeName: string;
  nodeUid?: string;
  publicKey: string;
  endpoint?: string;
  /** `ip:port` on the node's own LAN, for peers behind the same NAT. */
  internalEndpoint?: string;
  persistentKeepalive: number;
  /** Written only when the agent creates the object; never afterwards. */
  initialAllowedIPs?: string[];
}

/**
 * Whether the Node says it belongs to the mesh: `wirekube.io/vpn-enabled=true` (the DaemonSet's selector) is
 * `in`, another value is `out`, no label is `unlabelled` (an agent started by hand), no Node object is `gone`.
 */
export type MeshMembership = 'in' | 'out' | 'unlabelled' | 'gone';

export function meshMembership(
  node: { labels?: Readonly<Record<string, string>> } | undefined,
): MeshMembership {
  if (!node) return 'gone';
  const value = node.labels?.[LABELS.vpnEnabled];
  if (value === undefined) return 'unlabelled';
  return value === 'true' ? 'in' : 'out';
}

export type OwnPeerAction =
  | { type: 'create'; peer: WireKubePeer }
  | { type: 'patch'; patch: Record<string, unknown> }
  | { type: 'none' }
  /** No object, and none may be made: why, for the log. */
  | { type: 'left-out'; reason: string };

/**
 * Pure: what to do about the own WireKubePeer. A missing one is created at start-up unless the Node is labelled
 * out. One deleted while the agent runs is the seed's removal step (delete the CR, then run the cleanup job):
 * it comes back only while the Node still carries `wirekube.io/vpn-enabled=true`, so a node being removed
 * stays removed.
 */
export function ownPeerAction(
  existing: WireKubePeer | undefined,
  facts: OwnPeerFacts,
  context: { membership: MeshMembership; deletedWhileRunning: boolean },
): OwnPeerAction {
  if (existing) {
    const patch = ownPeerPatch(existing, facts);
    return patch ? { type: 'patch', patch } : { type: 'none' };
  }
  const { membership, deletedWhileRunning } = context;
  if (membership === 'out') {
    return { type: 'left-out', reason: `Node ${facts.nodeName} is labelled ${LABELS.vpnEnabled}!=true` };
  }
  if (deletedWhileRunning && membership !== 'in') {
    const why = membership === 'gone' ? 'no longer exists' : `has no ${LABELS.vpnEnabled}=true label`;
    return { type: 'left-out', reason: `WireKubePeer was deleted and Node ${facts.nodeName} ${why}` };
  }
  return { type: 'create', peer: newOwnPeer(facts) };
}

/** The WireKubePeer to create when none exists: named node-<node>, labelled, owned by its Node. */
export function newOwnPeer(facts: OwnPeerFacts): WireKubePeer {
  const peer: WireKubePeer = {
    apiVersion: API_VERSION,
    kind: 'WireKubePeer',
    metadata: {
      name: peerNameForNode(facts.nodeName),
      labels: { [LABELS.node]: facts.nodeName },
      ...(facts.internalEndpoint
        ? { annotations: { [ANNOTATIONS.internalEndpoint]: facts.internalEndpoint } }
        : {}),
      ...(facts.nodeUid
        ? {
            // Garbage-collected with its Node, so a deleted node leaves no stale peer behind.
            ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: facts.nodeName, uid: facts.nodeUid }],
          }
        : {}),
    },
    spec: {
      publicKey: facts.publicKey,
      persistentKeepalive: facts.persistentKeepalive,
      ...(facts.endpoint ? { endpoint: facts.endpoint } : {}),
      ...(facts.initialAllowedIPs && facts.initialAllowedIPs.length > 0
        ? { allowedIPs: facts.initialAllowedIPs }
        : {}),
    },
  };
  return peer;
}

/**
 * The JSON merge patch that brings an existing own peer in line with the facts, or undefined when it already is.
 * Names only the agent's fields, so a user's allowedIPs (or anything else) is never overwritten.
 */
export function ownPeerPatch(
  existing: WireKubePeer,
  facts: OwnPeerFacts,
): Record<string, unknown> | undefined {
  const spec: Record<string, unknown> = {};
  if (existing.spec.publicKey !== facts.publicKey) spec['publicKey'] = facts.publicKey;
  if (facts.endpoint && existing.spec.endpoint !== facts.endpoint) spec['endpoint'] = facts.endpoint;
  if (existing.spec.persistentKeepalive !== facts.persistentKeepalive) {
    spec['persistentKeepalive'] = facts.persistentKeepalive;
  }
  const metadata: Record<string, unknown> = {};
  if (existing.metadata.labels?.[LABELS.node] !== facts.nodeName)
    metadata['labels'] = { [LABELS.node]: facts.nodeName };
  const annotation = existing.metadata.annotations?.[ANNOTATIONS.internalEndpoint];
  if (facts.internalEndpoint && annotation !== facts.internalEndpoint) {
    metadata['annotations'] = { [ANNOTATIONS.internalEndpoint]: facts.internalEndpoint };
  }
  const owned = existing.metadata.ownerReferences?.some((o) => o.kind === 'Node' && o.uid === facts.nodeUid);
  if (facts.nodeUid && !owned) {
    metadata['ownerReferences'] = [
      ...(existing.metadata.ownerReferences ?? []).filter((o) => o.kind !== 'Node'),
      { apiVersion: 'v1', kind: 'Node', name: facts.nodeName, uid: facts.nodeUid },
    ];
  }
  const patch: Record<string, unknown> = {};
  if (Object.keys(spec).length > 0) patch['spec'] = spec;
  if (Object.keys(metadata).length > 0) patch['metadata'] = metadata;
  return Object.keys(patch).length > 0 ? patch : undefined;
}
