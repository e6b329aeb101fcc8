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
