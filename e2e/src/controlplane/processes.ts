import { join } from 'node:path';
import type { Pki } from './pki.js';

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
}

export function apiServerArgv(apiserver: string, input: ApiServerInput): string[] {
  const { pki } = input;
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
    // Nothing in the lab runs pods or kubelets; these only cost start time.
    '--endpoint-reconciler-type=none',
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    '--shutdown-delay-duration=0s',
    '--enable-garbage-collector=true',
    '--v=0',
  ];
}

export const etcdDataDir = (dir: string) => join(dir, 'etcd');
