import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig, type V1Node } from '@kubernetes/client-node';
import { LabError } from '../errors.js';
import type { NamespaceShell } from '../exec/netns.js';
import type { LabProcess } from '../exec/process.js';
import { type CommandResult, run } from '../exec/run.js';
import { labPath, toolPath } from '../tools.js';
import type { ControlPlanePlan } from '../topology/plan.js';
import { installCrds, loadCrds } from './crds.js';
import { writeKubeconfig } from './kubeconfig.js';
import { issueClientCert, type Pki } from './pki.js';
import {
  API_PORT,
  apiServerArgv,
  controllerManagerArgv,
  etcdArgv,
  etcdDataDir,
  schedulerArgv,
} from './processes.js';
import { httpsRequest, type TlsClient, waitReady } from './ready.js';

export interface CreateNodeOptions {
  /** The node's InternalIP (in the lab: the host's own address). */
  internalIP: string;
  externalIP?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  podCIDR?: string;
}

export interface KubectlOptions {
  allowFail?: boolean;
  /** stdin, e.g. a manifest for `apply -f -`. */
  input?: string;
}

export interface ServiceAccountOptions {
  namespace: string;
  name: string;
  /** Bind the token to this Node object (it must exist): the token then carries the node's identity. */
  node?: string;
  expirationSeconds?: number;
}

/** etcd + kube-apiserver in their own namespace on the lab internet. */
export interface ControlPlane {
  readonly netns: string;
  /** https://<root-side address>:6443, for the root namespace (tests). */
  readonly server: string;
  /** https://<lab-internet address>:6443, for lab hosts. */
  readonly hostServer: string;
  /** Admin kubeconfig usable from the root namespace. */
  readonly kubeconfigPath: string;
  /** Admin kubeconfig usable from inside lab hosts. */
  readonly hostKubeconfigPath: string;
  readonly caCertPath: string;
  /** Milliseconds from starting etcd and kube-apiserver until /readyz answered 200. */
  readonly startMs: number;
  /** The running etcd and kube-apiserver (new processes after `stop()` + `start()`). */
  readonly etcd: LabProcess;
  readonly apiserver: LabProcess;
  /**
   * An outage: stops kube-apiserver, then etcd. etcd's data directory, the certificates and every kubeconfig
   * stay, so `start()` brings back the same cluster (objects, resourceVersions, tokens).
   */
  stop(): Promise<void>;
  /** Starts etcd and kube-apiserver again with the same flags and data; resolves once /readyz answers 200. */
  start(timeoutMs?: number): Promise<void>;
  /** With `controlPlane: { controllers: true }` (or `kubernetes: true`). */
  readonly controllerManager?: LabProcess;
  readonly scheduler?: LabProcess;
  /** The PKI's files (CA key included: the lab signs node certificates with it). */
  readonly pki: Pki;
  /** A @kubernetes/client-node KubeConfig for the root namespace. */
  kubeConfig(): KubeConfig;
  /** The lab's kubectl with the admin kubeconfig. Throws LabCommandError on failure unless `allowFail`. */
  kubectl(args: readonly string[], options?: KubectlOptions): Promise<CommandResult>;
  /** A Node object (there is no kubelet in the lab), with its InternalIP and a Ready condition. */
  createNode(name: string, options: CreateNodeOptions): Promise<V1Node>;
  /**
   * Creates the namespace and service account if needed, requests a token (optionally bound to a Node) and
   * writes a kubeconfig with it for use inside lab hosts. Returns the kubeconfig's path and the token.
   */
  serviceAccountKubeconfig(options: ServiceAccountOptions): Promise<{ path: string; token: string }>;
}

export interface ControlPlaneStart {
  plan: ControlPlanePlan;
  shell: NamespaceShell;
  dir: string;
  crdDir: string;
  pki: Promise<Pki>;
  /** Resolves once the root link is addressed and up. */
  network: Promise<void>;
  startTimeoutMs?: number;
  /** kube-controller-manager, kube-scheduler and NodeRestriction. */
  controllers?: boolean;
}

export async function startControlPlane(start: ControlPlaneStart): Promise<ControlPlane> {
  const { plan, shell, dir } = start;
  const [etcdBin, apiserverBin] = [toolPath('etcd'), toolPath('kube-apiserver')];
  const pki = await start.pki;
  mkdirSync(join(dir, 'apiserver'), { recursive: true });
  const clients = join(pki.dir, 'clients');
  const [kubeletClient, controllerManagerClient, schedulerClient] = start.controllers
    ? await Promise.all([
        issueClientCert(
          pki,
          clients,
          'apiserver-kubelet-client',
          '/O=system:masters/CN=kube-apiserver-kubelet-client',
        ),
        issueClientCert(pki, clients, 'controller-manager', '/CN=system:kube-controller-manager'),
        issueClientCert(pki, clients, 'scheduler', '/CN=system:kube-scheduler'),
      ])
    : [];
  await run(['ip', '-n', plan.netns, 'link', 'set', 'lo', 'up'], { netns: plan.netns });
  const began = performance.now();
  const spawnEtcd = () => shell.spawn(etcdArgv(etcdBin, etcdDataDir(dir)));
  const spawnApiserver = () =>
    shell.spawn(
      apiServerArgv(apiserverBin, {
        pki,
        advertiseAddress: plan.internetAddress,
        certDir: join(dir, 'apiserver'),
        ...(kubeletClient ? { cluster: { kubeletClient } } : {}),
      }),
    );
  let etcd = spawnEtcd();
  let apiserver = spawnApiserver();
  const tls: TlsClient = {
    ca: readFileSync(pki.caCert),
    cert: readFileSync(pki.adminCert),
    key: readFileSync(pki.adminKey),
  };
  const server = `https://${plan.rootLink.nsAddress}:${API_PORT}`;
  const hostServer = `https://${plan.internetAddress}:${API_PORT}`;
  const admin = { caCert: tls.ca, clientCert: tls.cert, clientKey: tls.key, user: 'wirekube-lab-admin' };
  const kubeconfigPath = writeKubeconfig(join(dir, 'kubeconfig'), { ...admin, server });
  const hostKubeconfigPath = writeKubeconfig(join(dir, 'kubeconfig.host'), { ...admin, server: hostServer });
  await start.network;
  await waitReady(server, tls, [etcd, apiserver], start.startTimeoutMs ?? 60_000);
  const startMs = performance.now() - began;
  // Controllers talk to the API server over loopback, inside its namespace (127.0.0.1 is in its certificate).
  const componentKubeconfig = (name: string, cert: { cert: string; key: string }) =>
    writeKubeconfig(join(dir, `kubeconfig.${name}`), {
      caCert: tls.ca,
      clientCert: readFileSync(cert.cert),
      clientKey: readFileSync(cert.key),
      server: `https://127.0.0.1:${API_PORT}`,
      user: name,
    });
  const controllerManager = controllerManagerClient
    ? shell.spawn(
        controllerManagerArgv(toolPath('kube-controller-manager'), {
          kubeconfig: componentKubeconfig('controller-manager', controllerManagerClient),
          pki,
        }),
      )
    : undefined;
  const scheduler = schedulerClient
    ? shell.spawn(
        schedulerArgv(toolPath('kube-scheduler'), componentKubeconfig('scheduler', schedulerClient)),
      )
    : undefined;
  await installCrds(server, tls, loadCrds(start.crdDir));

  const api = async (
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    body?: unknown,
    accept: number[] = [],
  ) => {
    const result = await httpsRequest(method, `${server}${path}`, tls, body);
    if ((result.status < 200 || result.status > 299) && !accept.includes(result.status)) {
      throw new LabError(`${method} ${path}: ${result.status} ${result.body.slice(0, 2000)}`);
    }
    return JSON.parse(result.body || '{}') as Record<string, unknown>;
  };

  return {
    netns: plan.netns,
    server,
    hostServer,
    kubeconfigPath,
    hostKubeconfigPath,
    caCertPath: pki.caCert,
    startMs,
    get etcd() {
      return etcd;
    },
    get apiserver() {
      return apiserver;
    },
    async stop() {
      // The API server first, as when a control plane host goes down: clients see connections refused, not
      // an API server answering 500 for a missing etcd.
      await apiserver.stop(5_000);
      await etcd.stop(5_000);
    },
    async start(timeoutMs = 60_000) {
      if (!etcd.done || !apiserver.done) throw new LabError('control plane start: it is still running');
      etcd = spawnEtcd();
      apiserver = spawnApiserver();
      await waitReady(server, tls, [etcd, apiserver], timeoutMs);
    },
    ...(controllerManager ? { controllerManager } : {}),
    ...(scheduler ? { scheduler } : {}),
    pki,
    kubeConfig() {
      const config = new KubeConfig();
      config.loadFromFile(kubeconfigPath);
      return config;
    },
    kubectl(args, options = {}) {
      return run([toolPath('kubectl'), `--kubeconfig=${kubeconfigPath}`, ...args], {
        allowFail: options.allowFail ?? false,
        input: options.input ?? '',
        env: { ...process.env, PATH: labPath() },
      });
    },
    async createNode(name, options) {
      const now = new Date().toISOString();
      const addresses = [
        { type: 'InternalIP', address: options.internalIP },
        ...(options.externalIP ? [{ type: 'ExternalIP', address: options.externalIP }] : []),
        { type: 'Hostname', address: name },
      ];
      const status = {
        addresses,
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'WireKubeLab',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
      };
      await api('POST', '/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...options.labels },
          ...(options.annotations ? { annotations: options.annotations } : {}),
        },
        spec: options.podCIDR ? { podCIDR: options.podCIDR, podCIDRs: [options.podCIDR] } : {},
      });
      // Status is a subresource: the create call drops it.
      return (await api('PATCH', `/api/v1/nodes/${name}/status`, { status })) as V1Node;
    },
    async serviceAccountKubeconfig(options) {
      const { namespace, name } = options;
      await api('POST', '/api/v1/namespaces', { metadata: { name: namespace } }, [409]);
      await api('POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, { metadata: { name } }, [409]);
      const spec: Record<string, unknown> = { expirationSeconds: options.expirationSeconds ?? 3600 };
      if (options.node) {
        const node = await api('GET', `/api/v1/nodes/${options.node}`);
        const uid = (node.metadata as { uid?: string } | undefined)?.uid;
        spec.boundObjectRef = { apiVersion: 'v1', kind: 'Node', name: options.node, uid };
      }
      const review = await api('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec,
      });
      const token = (review.status as { token?: string } | undefined)?.token;
      if (!token) throw new LabError(`TokenRequest for ${namespace}/${name} returned no token`);
      const path = writeKubeconfig(join(dir, `kubeconfig.${namespace}.${name}`), {
        caCert: tls.ca,
        token,
        server: hostServer,
        user: `${namespace}:${name}`,
      });
      return { path, token };
    },
  };
}
