import {
  DiscoveryV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  type V1EndpointSlice,
} from '@kubernetes/client-node';
import { type InformerLike, ResilientInformer } from '@wirekube/kube-runtime';
import type { Logger } from 'pino';
import { apiServerSliceAddresses } from '../plan/protect.js';

/** The label the EndpointSlice controller (and kube-apiserver itself) puts on the `kubernetes` Service's slices. */
export const KUBERNETES_SERVICE_SLICES = 'kubernetes.io/service-name=kubernetes';

/** An informer over the `kubernetes` Service's EndpointSlices in `default`. */
export function apiServerSliceInformer(kc: KubeConfig): InformerLike<V1EndpointSlice> {
  const api = kc.makeApiClient(DiscoveryV1Api);
  const list = () =>
    api.listNamespacedEndpointSlice({
      namespace: 'default',
      labelSelector: KUBERNETES_SERVICE_SLICES,
    }) as Promise<KubernetesListObject<KubernetesObject>>;
  return makeInformer(
    kc,
    '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices',
    list,
    KUBERNETES_SERVICE_SLICES,
  ) as unknown as InformerLike<V1EndpointSlice>;
}

/**
 * The API server's real addresses, watched: in-cluster the kubeconfig names only the Service's ClusterIP, which
 * no tunnel route covers, while these (the control-plane nodes' addresses) may be in a peer's allowedIPs.
 * Starting never waits for the watch: without RBAC for EndpointSlices the agent still runs, protecting what
 * the kubeconfig and `--api-server-address` name, and the watch keeps retrying with backoff.
 */
export class ApiServerEndpoints {
  private readonly informer: ResilientInformer<V1EndpointSlice>;

  constructor(options: { informer: InformerLike<V1EndpointSlice>; log: Logger; onChange: () => void }) {
    this.informer = new ResilientInformer({
      name: 'kubernetes-endpointslices',
      informer: options.informer,
      log: options.log,
      onChange: () => options.onChange(),
    });
  }

  start(): void {
    void this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  addresses(): string[] {
    return apiServerSliceAddresses(this.informer.list());
  }
}
