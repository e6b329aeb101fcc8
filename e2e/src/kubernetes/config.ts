// What a lab node's containerd and kubelet are told, as pure functions of its paths (unit-testable without
// root). Each setting that is not a default is here because these machines need it (LAB-FACTS, "Real
// Kubernetes nodes run here").
import { stringify } from 'yaml';
import type { NodeTaint } from '../topology/spec.js';

/** Every per-node path, as the root namespace sees it. */
export interface NodePaths {
  /** The node's directory under the run directory. */
  dir: string;
  containerdConfig: string;
  containerdRoot: string;
  containerdState: string;
  containerdSocket: string;
  /** containerd's registry hosts directory (`config_path`): `<dir>/<registry host:port>/hosts.toml`. */
  registryHosts: string;
  cniConfDir: string;
  /** The CNI plugins (Debian's containernetworking-plugins). */
  cniBinDir: string;
  /** host-local's allocations: per node, since every node shares one filesystem. */
  cniIpamDir: string;
  kubeletConfig: string;
  kubeconfig: string;
  podLogsDir: string;
  volumePluginDir: string;
  /** Bound over these paths inside the node's mount namespace (its own key, socket and kubelet state). */
  binds: { source: string; target: string }[];
}

/** The directories bound per node: hostPath volumes and kubelet state must not be shared between nodes. */
export const NODE_BIND_TARGETS = [
  '/var/lib/wirekube',
  '/run/wireguard',
  '/run/wirekube',
  '/var/lib/kubelet',
  '/var/log/containers',
];

export function nodePaths(dir: string, wireguardDir: string): NodePaths {
  const containerd = `${dir}/containerd`;
  return {
    dir,
    containerdConfig: `${containerd}/config.toml`,
    containerdRoot: `${containerd}/root`,
    containerdState: `${containerd}/state`,
    containerdSocket: `${containerd}/containerd.sock`,
    registryHosts: `${containerd}/certs.d`,
    cniConfDir: `${dir}/cni/net.d`,
    cniBinDir: CNI_BIN_DIR,
    cniIpamDir: `${dir}/cni/ipam`,
    kubeletConfig: `${dir}/kubelet-config.yaml`,
    kubeconfig: `${dir}/kubeconfig`,
    podLogsDir: `${dir}/pod-logs`,
    volumePluginDir: `${dir}/volume-plugins`,
    binds: [
      { source: `${dir}/wirekube`, target: '/var/lib/wirekube' },
      { source: wireguardDir, target: '/run/wireguard' },
      // The relay-link's control socket (each node its own relay link).
      { source: `${dir}/wirekube-run`, target: '/run/wirekube' },
      { source: `${dir}/kubelet`, target: '/var/lib/kubelet' },
      { source: `${dir}/containers-logs`, target: '/var/log/containers' },
    ],
  };
}

/** Where Debian's containernetworking-plugins installs bridge, host-local, loopback and portmap. */
export const CNI_BIN_DIR = '/usr/lib/cni';

/** The pod network of the node at `index` (0-based): 10.244.<index+1>.0/24, clear of the lab's 10.1xx LANs. */
export function podCidr(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 253) throw new RangeError(`node index ${index}`);
  return `10.244.${index + 1}.0/24`;
}

const toml = (value: string) => JSON.stringify(value);

/** containerd 1.6 (config version 2): per-node root, state and socket; CRI with runc and cgroupfs. */
export function containerdConfig(paths: NodePaths, sandboxImage: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = ${toml(paths.containerdRoot)}
state = ${toml(paths.containerdState)}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = ${toml(paths.containerdSocket)}

[ttrpc]
  address = ${toml(`${paths.containerdSocket}.ttrpc`)}

[debug]
  level = "warn"

[${cri}]
  sandbox_image = ${toml(sandboxImage)}
  # This sandbox lacks CAP_SYS_RESOURCE: without it every sandbox fails ("can't get final child's PID").
  restrict_oom_score_adj = true
  enable_selinux = false
  disable_apparmor = true
  # Pod network namespaces under the node's own state directory, not the machine's /run/netns: teardown
  # removes them with the run directory.
  netns_mounts_under_state_dir = true

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false

[${cri}.cni]
  bin_dir = ${toml(paths.cniBinDir)}
  conf_dir = ${toml(paths.cniConfDir)}

[${cri}.registry]
  config_path = ${toml(paths.registryHosts)}
`;
}

/** containerd's hosts.toml for the lab registry: plain HTTP, pull and resolve. */
export function registryHostsToml(registry: string): string {
  return `server = "http://${registry}"

[host."http://${registry}"]
  capabilities = ["pull", "resolve"]
  skip_verify = true
`;
}

/**
 * A bridge pod network per node, as a simple CNI would: pods get an address from the node's podCidr behind the
 * node's bridge and are masqueraded when they leave it (to the API server, or to another node). Pods on other
 * nodes are not routed: no workload here needs pod-to-pod traffic across nodes, and the mesh routes node
 * addresses only. The lab's load balancer reaches pods of a public node through a route to its podCidr.
 */
export function cniConflist(podCidr: string, ipamDir: string): string {
  const conflist = {
    cniVersion: '1.0.0',
    name: 'wirekube-lab',
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        // A default route in the pod: the API server and the lab internet are not on the pod subnet.
        isDefaultGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: podCidr }]], dataDir: ipamDir },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  return `${JSON.stringify(conflist, null, 2)}\n`;
}

export interface KubeletInput {
  paths: NodePaths;
  address: string;
  caCert: string;
  /** A cgroup created beforehand in every v1 hierarchy: kubelets must not share one. */
  cgroupRoot: string;
  taints: readonly NodeTaint[];
}

export function kubeletConfig(input: KubeletInput): string {
  const { paths } = input;
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // cgroup v1 (hybrid) on these machines: the kubelet refuses it by default since 1.31.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: input.cgroupRoot,
    address: input.address,
    readOnlyPort: 0,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: input.caCert },
    },
    authorization: { mode: 'Webhook' },
    containerRuntimeEndpoint: `unix://${paths.containerdSocket}`,
    podLogsDir: paths.podLogsDir,
    volumePluginDir: paths.volumePluginDir,
    failSwapOn: false,
    // A busy shared dev machine must not make the kubelet evict the test's pods or garbage-collect images.
    evictionHard: { 'memory.available': '1Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    resolvConf: '',
    registerWithTaints: input.taints.map((taint) => ({ ...taint })),
    // Nothing reads these ports from outside the node; only its own namespace sees them.
    healthzBindAddress: '127.0.0.1',
    syncFrequency: '10s',
    nodeStatusUpdateFrequency: '5s',
  });
}
