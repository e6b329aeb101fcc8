import { peerNameForNode, type WireKubePeer } from '@wirekube/crd-types';
import type { Logger } from 'pino';
import { discoverEndpoint } from '../endpoint/discover.js';
import type { Endpoint, EndpointSource } from '../endpoint/types.js';
import { errorMessage } from '../errors.js';
import type { AgentKubeApi } from '../kube/api.js';
import type { AgentMetrics } from '../metrics/metrics.js';
import { newOwnPeer, type OwnPeerFacts, ownPeerPatch } from './own-peer.js';
import type { NodeState, PeerCache } from './state.js';

/** Seconds; below the 30 s conntrack timeout for unreplied UDP, so NAT mappings stay open. */
export const DEFAULT_PERSISTENT_KEEPALIVE = 25;

export interface OwnEndpointOptions {
  nodeName: string;
  /** For a new own WireKubePeer, or one without a value; a value in the CR is the user's and is kept. */
  persistentKeepalive?: number;
  /** On first creation of the own WireKubePeer only: seed allowedIPs with the node's InternalIP/32. */
  initAllowedIPs?: boolean;
}

export interface OwnEndpointDeps {
  kube: AgentKubeApi;
  endpointSources: readonly EndpointSource[];
  metrics: AgentMetrics;
  log: Logger;
  peers?: PeerCache<WireKubePeer>;
}

/**
 * Discovers this node's endpoint and makes its own WireKubePeer say so (creating it when missing), with Events
 * when the endpoint or the NAT type changed. Updates `state.endpoint`. Never throws: a failed write is logged and
 * counted, and the next re-check tries again.
 */
export async function publishOwnEndpoint(
  options: OwnEndpointOptions,
  deps: OwnEndpointDeps,
  state: NodeState,
): Promise<void> {
  const { kube, metrics, log } = deps;
  const selfName = peerNameForNode(options.nodeName);
  const current = deps.peers?.get(selfName) ?? (await kube.getPeer(selfName));
  const previous: Partial<Endpoint> = {};
  if (current?.spec.endpoint) previous.endpoint = current.spec.endpoint;
  if (current?.status?.endpointDiscoveryMethod) previous.method = current.status.endpointDiscoveryMethod;
  let found: Endpoint | undefined;
  try {
    found = await discoverEndpoint(
      deps.endpointSources,
      {
        listenPort: state.mesh.listenPort,
        nodeAnnotations: state.node.annotations,
        nodeAddresses: state.node.addresses,
        hostAddresses: state.hostAddresses,
        stun: state.nat,
        ...(previous.endpoint ? { previous } : {}),
      },
      log,
    );
  } catch (error) {
    metrics.errors.inc({ component: 'endpoint' });
    log.error(
      { event: 'endpoint-not-found', err: errorMessage(error) },
      'no endpoint discovered; peers must reach this node first',
    );
  }
  const before = state.endpoint;
  state.endpoint = found;
  metrics.setNatType(state.nat.natType);
  const peer = await ensureOwnPeer(deps, selfName, current, ownFacts(options, state, current, found));
  if (peer && found && before?.endpoint !== found.endpoint && current?.spec.endpoint !== found.endpoint) {
    await kube.recordEvent(
      peer,
      'Normal',
      'EndpointChanged',
      `endpoint ${found.endpoint} (discovered by ${found.method})`,
    );
  }
  const previousNat = current?.status?.natType;
  if (peer && previousNat !== undefined && previousNat !== state.nat.natType) {
    await kube.recordEvent(
      peer,
      'Normal',
      'NATTypeChanged',
      `NAT type ${previousNat || 'unknown'} → ${state.nat.natType || 'unknown'}`,
    );
  }
}

/** What this agent publishes about its node, from the settled state and the CR as it is. */
export function ownFacts(
  options: OwnEndpointOptions,
  state: NodeState,
  current: WireKubePeer | undefined,
  found: Endpoint | undefined,
): OwnPeerFacts {
  const internalIP =
    state.node.addresses.find((a) => a.type === 'InternalIP')?.address ??
    state.hostAddresses.find((a) => !a.includes(':'));
  const facts: OwnPeerFacts = {
    nodeName: options.nodeName,
    publicKey: state.keys.publicKey,
    // The CR's value wins (issue 11.9): the flag only fills in a missing one.
    persistentKeepalive:
      current?.spec.persistentKeepalive ?? options.persistentKeepalive ?? DEFAULT_PERSISTENT_KEEPALIVE,
  };
  if (state.node.uid) facts.nodeUid = state.node.uid;
  if (found) facts.endpoint = found.endpoint;
  if (internalIP) facts.internalEndpoint = `${internalIP}:${state.mesh.listenPort}`;
  if (options.initAllowedIPs !== false && internalIP) facts.initialAllowedIPs = [`${internalIP}/32`];
  return facts;
}

async function ensureOwnPeer(
  deps: OwnEndpointDeps,
  selfName: string,
  current: WireKubePeer | undefined,
  facts: OwnPeerFacts,
): Promise<WireKubePeer | undefined> {
  const { kube, log } = deps;
  try {
    if (!current) {
      const created = await kube.createPeer(newOwnPeer(facts));
      log.info(
        { event: 'own-peer-created', peer: selfName, endpoint: facts.endpoint },
        'created own WireKubePeer',
      );
      return created;
    }
    const patch = ownPeerPatch(current, facts);
    if (!patch) return current;
    const patched = await kube.patchPeer(selfName, patch);
    log.info({ event: 'own-peer-updated', peer: selfName, patch }, 'updated own WireKubePeer');
    return patched;
  } catch (error) {
    deps.metrics.errors.inc({ component: 'kube' });
    log.error(
      { event: 'own-peer-write-failed', peer: selfName, err: errorMessage(error) },
      'cannot write own WireKubePeer',
    );
    return current;
  }
}
