import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  type V1Lease,
  type V1Node,
} from '@kubernetes/client-node';
import {
  GATEWAY_LEASE,
  GROUP,
  gatewayKind,
  meshKind,
  peerKind,
  VERSION,
  type WireKubeGateway,
  type WireKubeGatewayStatus,
  type WireKubeMesh,
  type WireKubeMeshStatus,
  type WireKubePeer,
} from '@wirekube/crd-types';
import {
  EventRecorder,
  type EventType,
  httpStatus,
  type InformerLike,
  KubeApiError,
  KubeLeaseStore,
  type LeaseStore,
  mergePatchOptions,
  ResilientInformer,
} from '@wirekube/kube-runtime';
import type { Logger } from 'pino';

/** What the reconcilers read: the informers' caches. */
export interface ControllerCache {
  gateways(): readonly WireKubeGateway[];
  peers(): readonly WireKubePeer[];
  mesh(name: string): WireKubeMesh | undefined;
  /** Gateway health Leases in the controller's namespace. */
  healthLeases(): readonly V1Lease[];
  nodeNames(): ReadonlySet<string>;
  synced(): boolean;
}

/** What the reconcilers write. The controller is the one writer of gateway and mesh status. */
export interface ControllerWriter {
  /** `patch` is a merge patch of `status` (nulls remove keys). */
  patchGatewayStatus(name: string, patch: object): Promise<void>;
  patchMeshStatus(name: string, patch: object): Promise<void>;
  deletePeer(name: string): Promise<void>;
  event(involved: KubernetesObject, type: EventType, reason: string, message: string): Promise<void>;
}

export type { WireKubeGatewayStatus, WireKubeMeshStatus };

/** The controller's view of the API server: five self-healing watches and a handful of writes. */
export class ControllerCluster implements ControllerCache, ControllerWriter {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;
  private readonly recorder: EventRecorder;
  private readonly informers: {
    gateways: ResilientInformer<WireKubeGateway>;
    peers: ResilientInformer<WireKubePeer>;
    meshes: ResilientInformer<WireKubeMesh>;
    leases: ResilientInformer<V1Lease>;
    nodes: ResilientInformer<V1Node>;
  };

  constructor(
    kc: KubeConfig,
    private readonly options: {
      namespace: string;
      identity: string;
      log: Logger;
      onChange: (what: string) => void;
    },
  ) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
    this.recorder = new EventRecorder({
      core: this.core,
      component: 'wirekube-controller',
      host: options.identity,
      log: options.log,
    });
    const custom = <T>(plural: string): InformerLike<T> => {
      const list = () =>
        this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural }) as Promise<
          KubernetesListObject<KubernetesObject>
        >;
      return makeInformer(kc, `/apis/${GROUP}/${VERSION}/${plural}`, list) as unknown as InformerLike<T>;
    };
    const ns = options.namespace;
    const leases = makeInformer(
      kc,
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
      () =>
        this.coordination.listNamespacedLease({ namespace: ns, labelSelector: GATEWAY_LEASE.gatewayLabel }),
      GATEWAY_LEASE.gatewayLabel,
    ) as unknown as InformerLike<V1Lease>;
    const nodes = makeInformer(kc, '/api/v1/nodes', () =>
      this.core.listNode(),
    ) as unknown as InformerLike<V1Node>;
    const wrap = <T>(name: string, informer: InformerLike<T>) =>
      new ResilientInformer<T>({ name, informer, log: options.log, onChange: () => options.onChange(name) });
    this.informers = {
      gateways: wrap(gatewayKind.plural, custom<WireKubeGateway>(gatewayKind.plural)),
      peers: wrap(peerKind.plural, custom<WireKubePeer>(peerKind.plural)),
      meshes: wrap(meshKind.plural, custom<WireKubeMesh>(meshKind.plural)),
      leases: wrap('leases', leases),
      nodes: wrap('nodes', nodes),
    };
  }

  async start(): Promise<void> {
    await Promise.all(Object.values(this.informers).map((i) => i.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.informers).map((i) => i.stop()));
  }

  /** The leader-election Lease. */
  leaderLease(name: string): LeaseStore {
    return new KubeLeaseStore(this.coordination, this.options.namespace, name);
  }

  gateways(): readonly WireKubeGateway[] {
    return this.informers.gateways.list();
  }
  peers(): readonly WireKubePeer[] {
    return this.informers.peers.list();
  }
  mesh(name: string): WireKubeMesh | undefined {
    return this.informers.meshes.list().find((m) => m.metadata.name === name);
  }
  healthLeases(): readonly V1Lease[] {
    return this.informers.leases.list();
  }
  nodeNames(): ReadonlySet<string> {
    return new Set(this.informers.nodes.list().flatMap((n) => n.metadata?.name ?? []));
  }
  synced(): boolean {
    return Object.values(this.informers).every((i) => i.isSynced());
  }

  async patchGatewayStatus(name: string, patch: object): Promise<void> {
    await this.patchStatus(gatewayKind.plural, name, patch);
  }

  async patchMeshStatus(name: string, patch: object): Promise<void> {
    await this.patchStatus(meshKind.plural, name, patch);
  }

  async deletePeer(name: string): Promise<void> {
    try {
      await this.custom.deleteClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: peerKind.plural,
        name,
      });
    } catch (error) {
      if (httpStatus(error) === 404) return;
      throw new KubeApiError(`delete ${peerKind.plural}/${name}`, httpStatus(error), error);
    }
  }

  event(involved: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    return this.recorder.record(involved, type, reason, message);
  }

  private async patchStatus(plural: string, name: string, patch: object): Promise<void> {
    try {
      await this.custom.patchClusterCustomObjectStatus(
        { group: GROUP, version: VERSION, plural, name, body: { status: patch } },
        mergePatchOptions(),
      );
    } catch (error) {
      throw new KubeApiError(`patch ${plural}/${name} status`, httpStatus(error), error);
    }
  }
}
