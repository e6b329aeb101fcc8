import { LABELS, type WireKubePeer } from '@wirekube/crd-types';

export interface PeerGcInput {
  peers: readonly WireKubePeer[];
  /** Names of the Nodes that exist. */
  nodes: ReadonlySet<string>;
  /** Both informers have listed at least once; before that an absent Node proves nothing. */
  synced: boolean;
  nowMs: number;
  /** A peer younger than this is kept even without its Node (the Node may not be in the cache yet). */
  graceMs: number;
}

export interface PeerDeletion {
  peer: string;
  node: string;
  reason: string;
}

export interface PeerGcPlan {
  delete: PeerDeletion[];
  /** When a peer still inside its grace period becomes deletable. */
  requeueAfterMs?: number;
}

/**
 * Which WireKubePeers to delete because their Node is gone (the seed's first removal step, done for the
 * operator when the Node object is deleted). Only peers carrying the `wirekube.io/node` label are agent-made;
 * a peer without it is user-managed (a non-Kubernetes host) and never collected. With no Node at all the cache
 * is more likely wrong than the cluster empty, so nothing is deleted.
 */
export function planPeerGc(input: PeerGcInput): PeerGcPlan {
  if (!input.synced || input.nodes.size === 0) return { delete: [] };
  const out: PeerDeletion[] = [];
  let wake: number | undefined;
  for (const peer of input.peers) {
    const node = peer.metadata.labels?.[LABELS.node];
    const name = peer.metadata.name;
    if (!node || !name || peer.metadata.deletionTimestamp || input.nodes.has(node)) continue;
    const stamp = peer.metadata.creationTimestamp;
    const created = stamp instanceof Date ? stamp.getTime() : Date.parse(stamp ?? '');
    const age = Number.isFinite(created) ? input.nowMs - created : Number.POSITIVE_INFINITY;
    if (age < input.graceMs) {
      const left = input.graceMs - age;
      wake = wake === undefined ? left : Math.min(wake, left);
      continue;
    }
    out.push({ peer: name, node, reason: `Node ${node} no longer exists` });
  }
  out.sort((a, b) => (a.peer < b.peer ? -1 : 1));
  const plan: PeerGcPlan = { delete: out };
  if (wake !== undefined) plan.requeueAfterMs = wake;
  return plan;
}
