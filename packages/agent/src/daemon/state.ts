import type { ResolvedMeshSpec } from '@wirekube/crd-types';
import type { Endpoint } from '../endpoint/types.js';
import type { NatProbeResult } from '../nat/probe.js';

export interface AgentKeys {
  privateKey: string;
  publicKey: string;
  created: boolean;
}

/** What the agent uses from its Node object. */
export interface NodeFacts {
  uid?: string;
  annotations: Record<string, string>;
  addresses: Array<{ type: string; address: string }>;
}

/**
 * What start-up settled about this node and the endpoint re-check refreshes. One object, shared by the lifecycle
 * (which fills it before the first pass) and the reconciler (which reads it every pass).
 */
export interface NodeState {
  mesh: ResolvedMeshSpec;
  keys: AgentKeys;
  node: NodeFacts;
  nat: NatProbeResult;
  endpoint?: Endpoint;
  hostAddresses: string[];
}

/** The slice of the peer informer the daemon reads: its cache. */
export interface PeerCache<T> {
  get(name: string): T | undefined;
  list(): ReadonlyArray<T>;
}
