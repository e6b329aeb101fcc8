import { join } from 'node:path';
import type { ClientCert, Pki } from './pki.js';

export const API_PORT = 6443;
const ETCD_CLIENT = 'http://127.0.0.1:2379';
const ETCD_PEER = 'http://127.0.0.1:2380';

/** etcd for one lab: loopback only (inside the control plane namespace), data on tmpfs, no fsync. */
export function etcdArgv(etcd: string, dataDir: string): string[] {
  return [
    etcd,
    '--name=lab',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${ETCD_CLIENT}`,
    `--advertise-client-urls=${ETCD_CLIENT}`,
    `--listen-peer-urls=${ETCD_PEER}`,
    `--initial-advertise-peer-urls=${ETCD_PEER}`,
    `--initial-cluster=lab=${ETCD_PEER}`,
    '--listen-metrics-urls=',
    // A test cluster that dies with its run: durability buys nothing, and fsync on a busy 2-core box costs seconds.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
}

export interface ApiServerInput {
  pki: Pki;
  /** Its address on the lab internet, advertised to clients inside the lab. */
  advertiseAddress: string;
  certDir: string;
  /**
   * A cluster with kubelets and controllers: NodeRestriction, the `kubernetes` Service's endpoints (its
   * advertised address) and a client certificate for reaching kubelets (logs, exec).
   */
  cluster?: { kubeletClient: ClientCert };
}

export function apiServerArgv(apiserver: string, input: ApiServerInput): string[] {
  const { pki, cluster } = input;
  const clusterFlags = cluster
    ? [
        '--enable-admission-plugins=NodeRestriction',
        '--endpoint-reconciler-type=lease',
        `--kubelet-client-certificate=${cluster.kubeletClient.cert}`,
        `--kubelet-client-key=${cluster.kubeletClient.key}`,
        '--kubelet-preferred-address-types=InternalIP',
      ]
    : // Nothing in a bare lab runs pods or kubelets; this only costs start time.
      ['--endpoint-reconciler-type=none'];
  return [
    apiserver,
    `--etcd-servers=${ETCD_CLIENT}`,
    '--bind-address=0.0.0.0',
    `--secure-port=${API_PORT}`,
    `--advertise-address=${input.advertiseAddress}`,
    `--cert-dir=${input.certDir}`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    '--api-audiences=https://kubernetes.default.svc.cluster.local',
    '--service-cluster-ip-range=10.96.0.0/16',
    '--authorization-mode=Node,RBAC',
    '--allow-privileged=true',
    ...clusterFlags,
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    '--shutdown-delay-duration=0s',
    '--enable-garbage-collector=true',
    '--v=0',
  ];
}

export const etcdDataDir = (dir: string) => join(dir, 'etcd');

export interface ControllerInput {
  /** Kubeconfig with the component's own client certificate (RBAC knows system:kube-controller-manager). */
  kubeconfig: string;
  pki: Pki;
}

/**
 * kube-controller-manager without leader election or a serving port (one per lab, nobody scrapes it). Service
 * account credentials per controller, as in real clusters, and the CA published as kube-root-ca.crt (every
 * pod's projected token volume needs it).
 */
export function controllerManagerArgv(bin: string, input: ControllerInput): string[] {
  return [
    bin,
    `--kubeconfig=${input.kubeconfig}`,
    '--leader-elect=false',
    '--secure-port=0',
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${input.pki.saKey}`,
    `--root-ca-file=${input.pki.caCert}`,
    `--cluster-signing-cert-file=${input.pki.caCert}`,
    `--cluster-signing-key-file=${input.pki.caKey}`,
    '--allocate-node-cidrs=false',
    '--v=0',
  ];
}

export function schedulerArgv(bin: string, kubeconfig: string): string[] {
  return [bin, `--kubeconfig=${kubeconfig}`, '--leader-elect=false', '--secure-port=0', '--v=0'];
}
