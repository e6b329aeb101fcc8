import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { AgentKubeApi } from '../kube/api.js';
import type { NodeFacts } from './state.js';

const NO_FACTS: NodeFacts = { annotations: {}, addresses: [] };

/** The Node's uid, annotations and addresses; empty facts (logged) when it cannot be read. */
export async function readNodeFacts(kube: AgentKubeApi, nodeName: string, log: Logger): Promise<NodeFacts> {
  try {
    const node = await kube.getNode(nodeName);
    if (!node) {
      log.warn({ event: 'node-not-found' }, 'Node object not found; the WireKubePeer will have no owner');
      return { ...NO_FACTS };
    }
    return {
      ...(node.metadata?.uid ? { uid: node.metadata.uid } : {}),
      annotations: node.metadata?.annotations ?? {},
      addresses: (node.status?.addresses ?? []).map((a) => ({ type: a.type, address: a.address })),
    };
  } catch (error) {
    log.warn({ event: 'node-read-failed', err: errorMessage(error) }, 'cannot read the Node object');
    return { ...NO_FACTS };
  }
}
