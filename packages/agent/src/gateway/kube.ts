import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
} from '@kubernetes/client-node';
import { GROUP, gatewayKind, VERSION, type WireKubeGateway } from '@wirekube/crd-types';
import { EventRecorder, type InformerLike, KubeLeaseStore } from '@wirekube/kube-runtime';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { GatewayFeature } from './feature.js';
import { GatewayProbeMetrics } from './metrics.js';

/**
 * The gateway feature on a real cluster and node: the WireKubeGateway watch, health Leases in `namespace`,
 * Events from this node (the gateway's iptables rules go through the node plan).
 */
export function kubeGatewayFeature(
  kc: KubeConfig,
  options: { nodeName: string; namespace: string; log: Logger; registry: Registry },
): GatewayFeature {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const list = () =>
    custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: gatewayKind.plural }) as Promise<
      KubernetesListObject<KubernetesObject>
    >;
  const informer = makeInformer(
    kc,
    `/apis/${GROUP}/${VERSION}/${gatewayKind.plural}`,
    list,
  ) as unknown as InformerLike<WireKubeGateway>;
  return new GatewayFeature({
    nodeName: options.nodeName,
    gatewayInformer: informer,
    leaseStore: (name) => new KubeLeaseStore(coordination, options.namespace, name),
    events: new EventRecorder({
      core: kc.makeApiClient(CoreV1Api),
      component: 'wirekube-agent',
      host: options.nodeName,
      log: options.log,
    }),
    log: options.log,
    probeSink: new GatewayProbeMetrics(options.registry),
  });
}
