import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeKubeconfig } from '../controlplane/kubeconfig.js';
import { issueClientCert, type Pki } from '../controlplane/pki.js';
import { waitForPath } from '../exec/netns.js';
import type { LabProcess } from '../exec/process.js';
import { type CommandResult, type RunOptions, run } from '../exec/run.js';
import type { LabHost } from '../host.js';
import { labPath, toolPath } from '../tools.js';
import type { ResolvedHost } from '../topology/spec.js';
import { createCgroupRoot } from './cgroups.js';
import {
  cniConflist,
  containerdConfig,
  kubeletConfig,
  type NodePaths,
  nodePaths,
  registryHostsToml,
} from './config.js';
import { createNodeMountNamespace, type RecordMount } from './mounts.js';

/** A lab host that is a Kubernetes Node: its containerd, its kubelet, its own mount namespace and files. */
export interface LabNode {
  readonly name: string;
  readonly host: LabHost;
  /** Per-node directories, as root-namespace paths (what the node sees at /var/lib/wirekube etc.). */
  readonly dirs: {
    readonly root: string;
    /** The node's /var/lib/wirekube. */
    readonly wirekube: string;
    /** The node's /run/wireguard (the host's wireguardDir). */
    readonly wireguard: string;
    /** The node's /run/wirekube (the relay-link's control socket). */
    readonly wirekubeRun: string;
    /** The node's /var/lib/kubelet. */
    readonly kubelet: string;
    /** The kubelet's podLogsDir: `<ns>_<pod>_<uid>/<container>/0.log`. */
    readonly podLogs: string;
  };
  /** The file binding its mount namespace (`nsenter --mount=<file>`). */
  readonly mountNamespace: string;
  /** Its cgroup below every hierarchy's root (the kubelet's cgroupRoot). */
  readonly cgroup: string;
  readonly containerdSocket: string;
  /** Its pods' subnet (a bridge CNI on the node; pods reach the outside masqueraded behind the node). */
  readonly podCidr: string;
  readonly containerd: LabProcess;
  readonly kubelet: LabProcess;
  /** The argv that runs `argv` as the node's own processes run: its mount and network namespaces. */
  wrap(argv: readonly string[]): string[];
  /** Runs a command in the node's mount and network namespaces (sees its /var/lib/wirekube, kubelet files). */
  exec(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

export interface NodeStart {
  host: LabHost;
  spec: ResolvedHost;
  runId: string;
  dir: string;
  holder: string;
  pki: Pki;
  /** The API server as lab hosts reach it. */
  server: string;
  /** host:port of the lab registry, as nodes reach it. */
  registry: string;
  sandboxImage: string;
  /** This node's pod network (its CNI bridge's subnet). */
  podCidr: string;
  spawn(argv: readonly string[]): LabProcess;
  recordMount: RecordMount;
  recordCgroup(cgroup: string): void;
}

export function nodeWrap(mountNamespace: string, netns: string, argv: readonly string[]): string[] {
  // Never `ip netns exec`: it remounts /sys, the cgroup mounts disappear and containerd and kubelet fail.
  return ['nsenter', `--mount=${mountNamespace}`, `--net=/run/netns/${netns}`, '--', ...argv];
}

function writeConfigs(start: NodeStart, paths: NodePaths, cgroup: string): void {
  for (const dir of [
    paths.containerdRoot,
    paths.containerdState,
    join(paths.registryHosts, start.registry),
    paths.cniConfDir,
    paths.cniIpamDir,
    paths.podLogsDir,
    paths.volumePluginDir,
  ]) {
    mkdirSync(dir, { recursive: true });
  }
  writeFileSync(paths.containerdConfig, containerdConfig(paths, start.sandboxImage));
  writeFileSync(join(paths.registryHosts, start.registry, 'hosts.toml'), registryHostsToml(start.registry));
  writeFileSync(
    join(paths.cniConfDir, '10-wirekube-lab.conflist'),
    cniConflist(start.podCidr, paths.cniIpamDir),
  );
  writeFileSync(
    paths.kubeletConfig,
    kubeletConfig({
      paths,
      address: start.host.address,
      caCert: start.pki.caCert,
      cgroupRoot: cgroup,
      taints: start.spec.taints,
    }),
  );
}

export async function startNode(start: NodeStart): Promise<LabNode> {
  const { host, spec } = start;
  const paths = nodePaths(start.dir, host.wireguardDir);
  const cgroup = `/wklab-${start.runId}-${host.name}`;
  writeConfigs(start, paths, cgroup);
  const cert = await issueClientCert(
    start.pki,
    join(start.dir, 'pki'),
    'kubelet-client',
    `/O=system:nodes/CN=system:node:${host.name}`,
  );
  writeKubeconfig(paths.kubeconfig, {
    server: start.server,
    caCert: readFileSync(start.pki.caCert),
    clientCert: readFileSync(cert.cert),
    clientKey: readFileSync(cert.key),
    user: `system:node:${host.name}`,
  });
  start.recordCgroup(cgroup);
  createCgroupRoot(cgroup);
  const { file } = await createNodeMountNamespace(start.holder, host.name, paths.binds, start.recordMount);
  const wrap = (argv: readonly string[]) => nodeWrap(file, host.netns, argv);

  const containerd = start.spawn(wrap(['containerd', '--config', paths.containerdConfig]));
  await waitForPath(paths.containerdSocket, containerd, 30_000, `containerd on ${host.name}`);
  const labels = Object.entries(spec.labels).map(([key, value]) => `${key}=${value}`);
  const kubelet = start.spawn(
    wrap([
      toolPath('kubelet'),
      `--config=${paths.kubeletConfig}`,
      `--kubeconfig=${paths.kubeconfig}`,
      `--hostname-override=${host.name}`,
      `--node-ip=${host.address}`,
      ...(labels.length > 0 ? [`--node-labels=${labels.join(',')}`] : []),
      '--v=1',
    ]),
  );
  const bound = (target: string) => paths.binds.find((bind) => bind.target === target)!.source;
  return {
    name: host.name,
    host,
    dirs: {
      root: start.dir,
      wirekube: bound('/var/lib/wirekube'),
      wireguard: host.wireguardDir,
      wirekubeRun: bound('/run/wirekube'),
      kubelet: bound('/var/lib/kubelet'),
      podLogs: paths.podLogsDir,
    },
    mountNamespace: file,
    cgroup,
    containerdSocket: paths.containerdSocket,
    podCidr: start.podCidr,
    containerd,
    kubelet,
    wrap,
    exec: (argv, options = {}) =>
      run(wrap(argv), {
        netns: host.netns,
        ...options,
        env: { ...process.env, PATH: labPath(), ...options.env },
      }),
  };
}
