import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  type V1Node,
} from '@kubernetes/client-node';
import { GROUP, KINDS, VERSION, type WireKubeMesh, type WireKubePeer } from '@wirekube/crd-types';
import {
  EventRecorder,
  type EventType,
  httpStatus,
  type InformerLike,
  KubeApiError,
  mergePatchOptions,
} from '@wirekube/kube-runtime';
import type { Logger } from 'pino';

export type { EventType };

const PEERS = KINDS.WireKubePeer.plural;
const MESHES = KINDS.WireKubeMesh.plural;

/** The agent's whole use of the Kubernetes API, behind one small interface that tests can replace. */
export interface AgentKubeApi {
  getMesh(name: string): Promise<WireKubeMesh | undefined>;
  getNode(name: string): Promise<V1Node | undefined>;
  getPeer(name: string): Promise<WireKubePeer | undefined>;
  createPeer(peer: WireKubePeer): Promise<WireKubePeer>;
  /** JSON merge patch of metadata/spec: fields not named are left as they are (allowedIPs is the user's). */
  patchPeer(name: string, patch: Record<string, unknown>): Promise<WireKubePeer>;
  /** JSON merge patch of the status subresource's `status` (nulls remove keys; see mergePatchFor). */
  patchPeerStatus(name: string, statusPatch: object): Promise<WireKubePeer>;
  /** Never throws: an Event that cannot be written is logged and dropped. */
  recordEvent(peer: WireKubePeer, type: EventType, reason: string, message: string): Promise<void>;
  meshInformer(): InformerLike<WireKubeMesh>;
  peerInformer(): InformerLike<WireKubePeer>;
}

export class KubeAgentApi implements AgentKubeApi {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly events: EventRecorder;

  constructor(
    private readonly kc: KubeConfig,
    component: { name: string; host: string },
    log: Logger,
  ) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
    this.events = new EventRecorder({
      core: this.core,
      component: component.name,
      host: component.host,
      log,
    });
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
        mergePatchOptions(),
      ),
    );
  }

  async patchPeerStatus(name: string, statusPatch: object): Promise<WireKubePeer> {
    return this.call(`patch wirekubepeer ${name} status`, () =>
      this.custom.patchClusterCustomObjectStatus(
        { group: GROUP, version: VERSION, plural: PEERS, name, body: { status: statusPatch } },
        mergePatchOptions(),
      ),
    );
  }

  recordEvent(peer: WireKubePeer, type: EventType, reason: string, message: string): Promise<void> {
    return this.events.record(peer, type, reason, message);
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
