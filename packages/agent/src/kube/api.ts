import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
} from '@kubernetes/client-node';
import {
  GROUP,
  KINDS,
  VERSION,
  type WireKubeMesh,
  type WireKubePeer,
  type WireKubePeerStatus,
} from '@wirekube/crd-types';
import type { InformerLike } from './informer.js';

const PEERS = KINDS.WireKubePeer.plural;
const MESHES = KINDS.WireKubeMesh.plural;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** A failed API call, with what was attempted and the HTTP status when there was one. */
export class KubeApiError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number | undefined,
    cause: unknown,
  ) {
    super(`${operation}: ${status ? `HTTP ${status}: ` : ''}${messageOf(cause)}`, { cause });
    this.name = 'KubeApiError';
  }
}

function messageOf(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as { message?: string } | string | undefined;
    if (typeof body === 'string') {
      try {
        return (JSON.parse(body) as { message?: string }).message ?? body;
      } catch {
        return body;
      }
    }
    return body?.message ?? error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export function httpStatus(error: unknown): number | undefined {
  if (error instanceof KubeApiError) return error.status;
  if (error instanceof ApiException) return error.code;
  return undefined;
}

/** Event severity as Kubernetes defines it. */
export type EventType = 'Normal' | 'Warning';

/** The agent's whole use of the Kubernetes API, behind one small interface that tests can replace. */
export interface AgentKubeApi {
  getMesh(name: string): Promise<WireKubeMesh | undefined>;
  getNode(name: string): Promise<V1Node | undefined>;
  getPeer(name: string): Promise<WireKubePeer | undefined>;
  createPeer(peer: WireKubePeer): Promise<WireKubePeer>;
  /** JSON merge patch of metadata/spec: fields not named are left as they are (allowedIPs is the user's). */
  patchPeer(name: string, patch: Record<string, unknown>): Promise<WireKubePeer>;
  patchPeerStatus(name: string, status: WireKubePeerStatus): Promise<WireKubePeer>;
  recordEvent(peer: WireKubePeer, type: EventType, reason: string, message: string): Promise<void>;
  meshInformer(): InformerLike<WireKubeMesh>;
  peerInformer(): InformerLike<WireKubePeer>;
}

export class KubeAgentApi implements AgentKubeApi {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;

  constructor(
    private readonly kc: KubeConfig,
    private readonly component: { name: string; host: string },
  ) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async getMesh(name: string): Promise<WireKubeMesh | undefined> {
    return this.getCustom<WireKubeMesh>(MESHES, name);
  }

  async getPeer(name: string): Promise<WireKubePeer | undefined> {
    return this.getCustom<WireKubePeer>(PEERS, name);
  }

  async getNode(name: string): Promise<V1Node | undefined> {
    try {
      return await this.core.readNode({ name });
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw new KubeApiError(`get node ${name}`, httpStatus(error), error);
    }
  }

  async createPeer(peer: WireKubePeer): Promise<WireKubePeer> {
    return this.call(`create wirekubepeer ${peer.metadata.name}`, () =>
      this.custom.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PEERS, body: peer }),
    );
  }

  async patchPeer(name: string, patch: Record<string, unknown>): Promise<WireKubePeer> {
    return this.call(`patch wirekubepeer ${name}`, () =>
      this.custom.patchClusterCustomObject(
        { group: GROUP, version: VERSION, plural: PEERS, name, body: patch },
        mergePatch,
      ),
    );
  }

  async patchPeerStatus(name: string, status: WireKubePeerStatus): Promise<WireKubePeer> {
    return this.call(`patch wirekubepeer ${name} status`, () =>
      this.custom.patchClusterCustomObjectStatus(
        { group: GROUP, version: VERSION, plural: PEERS, name, body: { status } },
        mergePatch,
      ),
    );
  }

  async recordEvent(peer: WireKubePeer, type: EventType, reason: string, message: string): Promise<void> {
    const now = new Date();
    await this.call(`record event ${reason} on ${peer.metadata.name}`, () =>
      this.core.createNamespacedEvent({
        // Events about cluster-scoped objects live in "default", where `kubectl describe` looks for them.
        namespace: 'default',
        body: {
          metadata: { generateName: `${peer.metadata.name}.` },
          involvedObject: {
            apiVersion: peer.apiVersion,
            kind: peer.kind,
            name: peer.metadata.name,
            ...(peer.metadata.uid ? { uid: peer.metadata.uid } : {}),
          },
          type,
          reason,
          message,
          source: { component: this.component.name, host: this.component.host },
          reportingComponent: this.component.name,
          reportingInstance: this.component.host,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      }),
    );
  }

  meshInformer(): InformerLike<WireKubeMesh> {
    return this.customInformer<WireKubeMesh>(MESHES);
  }

  peerInformer(): InformerLike<WireKubePeer> {
    return this.customInformer<WireKubePeer>(PEERS);
  }

  private customInformer<T extends WireKubeMesh | WireKubePeer>(plural: string): InformerLike<T> {
    // Custom objects come back as plain JSON; the informer only needs metadata.name and resourceVersion.
    const list = () =>
      this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural }) as Promise<
        KubernetesListObject<KubernetesObject>
      >;
    return makeInformer(this.kc, `/apis/${GROUP}/${VERSION}/${plural}`, list) as unknown as InformerLike<T>;
  }

  private async getCustom<T>(plural: string, name: string): Promise<T | undefined> {
    try {
      return (await this.custom.getClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural,
        name,
      })) as T;
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw new KubeApiError(`get ${plural} ${name}`, httpStatus(error), error);
    }
  }

  private async call<T>(operation: string, fn: () => Promise<unknown>): Promise<T> {
    try {
      return (await fn()) as T;
    } catch (error) {
      throw new KubeApiError(operation, httpStatus(error), error);
    }
  }
}
