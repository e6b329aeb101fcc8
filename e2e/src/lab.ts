import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ControlPlane, startControlPlane } from './controlplane/index.js';
import { createPki } from './controlplane/pki.js';
import { LabError, LabSpecError } from './errors.js';
import { NamespaceShell, type ProcessSink, wirekubeRunDir } from './exec/netns.js';
import { type LabProcess, spawnTracked } from './exec/process.js';
import { run } from './exec/run.js';
import { createHost, type LabHost } from './host.js';
import { type LabNode, startKubernetes } from './kubernetes/index.js';
import { createLoadBalancer, type LabLoadBalancer } from './kubernetes/load-balancer.js';
import { type LabRegistry, startRegistry } from './registry/server.js';
import { installExitHooks, onExit } from './state/exit-hooks.js';
import { RunState, runIdFree, STATE_ROOT, sweepStaleRuns } from './state/runs.js';
import { teardownSync } from './state/teardown.js';
import { type StunServer, startStun } from './stun/coturn.js';
import { labPath } from './tools.js';
import { configureTopology, createTopology } from './topology/apply.js';
import { planTopology, type RouterPlan, type TopologyPlan } from './topology/plan.js';
import { chooseRootLink } from './topology/root-link.js';
import { checkOptions, type LabOptions, resolveControlPlane, resolveHosts } from './topology/spec.js';

/** A NAT router: its namespace, addresses, and a shell (for `conntrack -F`, `nft list ruleset`, ...). */
export interface LabRouter extends Omit<RouterPlan, 'netns'> {
  readonly netns: string;
  readonly shell: NamespaceShell;
}

export interface Lab {
  /** The run's unique prefix; every namespace name starts with it. */
  readonly id: string;
  readonly hosts: readonly LabHost[];
  host(name: string): LabHost;
  /** The NAT router of a LAN. */
  router(lan: string): LabRouter;
  /** `address:3478` of the STUN server's two addresses (empty without `stun: true`). */
  readonly stunServers: readonly string[];
  /** etcd + kube-apiserver, with `controlPlane: true` (or `kubernetes: true`). */
  readonly controlPlane?: ControlPlane;
  /** The lab's OCI registry, with `registry: true` (or `kubernetes: true`). */
  readonly registry?: LabRegistry;
  /** With `kubernetes: true`: the cloud load balancer for `type: LoadBalancer` Services (198.51.100.30). */
  readonly loadBalancer?: LabLoadBalancer;
  /** With `kubernetes: true`: every host as a Kubernetes Node, in the order of `lab.hosts`. */
  readonly nodes: readonly LabNode[];
  /** The Node of a host (`kubernetes: true`). */
  node(name: string): LabNode;
  /** Every namespace this run created. */
  readonly namespaces: readonly string[];
  /** The data behind the lab: addresses, links, routes, rules. */
  readonly plan: TopologyPlan;
  /** Kills only this run's processes and deletes only its namespaces. Safe to call more than once. */
  destroy(): Promise<void>;
}

const DEFAULT_CRD_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'charts',
  'wirekube',
  'crds',
);

/** A fresh run ID, claimed atomically so that concurrent createLab calls (any process) never share one. */
function claimRun(): RunState {
  for (;;) {
    const id = `wk${randomBytes(2).toString('hex')}`;
    if (!runIdFree(id)) continue;
    try {
      return new RunState(id);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

class LabRun implements Lab, ProcessSink {
  readonly hosts: LabHost[] = [];
  stunServers: string[] = [];
  stun?: StunServer;
  controlPlane?: ControlPlane;
  registry?: LabRegistry;
  loadBalancer?: LabLoadBalancer;
  readonly nodes: LabNode[] = [];
  private readonly processes = new Set<LabProcess>();
  private readonly routers = new Map<string, LabRouter>();
  private destroyed?: Promise<void>;
  private readonly unregister: () => void;

  constructor(
    readonly id: string,
    readonly plan: TopologyPlan,
    readonly state: RunState,
    readonly dir: string,
  ) {
    // The record goes too once its teardown ran: left behind, the next sweep would count the run as leaked.
    this.unregister = onExit(() => {
      teardownSync(this.state.resources);
      this.state.close();
    });
  }

  get namespaces(): string[] {
    return this.plan.namespaces.map((ns) => ns.name);
  }

  started(process: LabProcess): void {
    this.processes.add(process);
    this.state.add('pids', [process.pid]);
    void process.exited.then(() => {
      this.processes.delete(process);
      if (!this.destroyed) this.state.removePid(process.pid);
    });
  }

  shell(netns: string, wireguardDir?: string): NamespaceShell {
    return new NamespaceShell(netns, this, wireguardDir);
  }

  addRouter(plan: RouterPlan): void {
    this.routers.set(plan.lan, { ...plan, shell: this.shell(plan.netns) });
  }

  /** Starts a process that is not wrapped in `ip netns exec` (nsenter-based node processes), tracked like any. */
  spawnDirect(argv: readonly string[]): LabProcess {
    const process = spawnTracked(argv, { env: { ...globalThis.process.env, PATH: labPath() } });
    this.started(process);
    return process;
  }

  node(name: string): LabNode {
    const node = this.nodes.find((candidate) => candidate.name === name);
    if (!node) throw new LabSpecError(`no Kubernetes node ${name} in lab ${this.id}`, 'name');
    return node;
  }

  host(name: string): LabHost {
    const host = this.hosts.find((candidate) => candidate.name === name);
    if (!host) throw new LabSpecError(`no host ${name} in lab ${this.id}`, 'name');
    return host;
  }

  router(lan: string): LabRouter {
    const router = this.routers.get(lan);
    if (!router) throw new LabSpecError(`no LAN ${lan} in lab ${this.id}`, 'lan');
    return router;
  }

  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      // Graceful first (wireguard-go removes its socket and TUN), in parallel. The control plane's state dies
      // with the run, and a graceful kube-apiserver shutdown alone takes a second: kill it outright.
      // So does a node's: its kubelet and containerd (and the pods, killed by namespace) go at once.
      const cp = this.controlPlane;
      const disposable = new Set<LabProcess | undefined>([
        cp?.apiserver,
        cp?.etcd,
        cp?.controllerManager,
        cp?.scheduler,
        ...this.nodes.flatMap((node) => [node.kubelet, node.containerd]),
      ]);
      await Promise.allSettled(
        [...this.processes].map((process) => process.stop(disposable.has(process) ? 0 : 1500)),
      );
      teardownSync(this.state.resources);
      this.state.close();
      this.unregister();
    })();
    return this.destroyed;
  }
}

/**
 * Builds a lab: namespaces, links, NAT routers, hosts, and optionally a STUN server and a control plane.
 * Removes runs left behind by dead processes first. On any failure it tears down what it built and rethrows.
 */
export async function createLab(options: LabOptions = {}): Promise<Lab> {
  checkOptions(options);
  const hosts = resolveHosts(options.hosts ?? []);
  const controlPlaneOptions = resolveControlPlane(options);
  const withRegistry = options.registry === true || options.kubernetes === true;
  if (withRegistry && !controlPlaneOptions) {
    throw new LabSpecError('the registry lives next to the API server: set controlPlane too', 'registry');
  }
  if (process.getuid?.() !== 0) throw new LabError('the lab needs root (network namespaces, nftables)');
  sweepStaleRuns();
  installExitHooks();
  const state = claimRun();
  const id = state.id;
  const dir = join(STATE_ROOT, id);
  state.add('dirs', [dir]);
  let lab: LabRun | undefined;
  try {
    const plan = planTopology({
      prefix: id,
      hosts,
      stun: options.stun ?? false,
      ...(controlPlaneOptions ? { controlPlaneLink: chooseRootLink() } : {}),
    });
    state.add(
      'namespaces',
      plan.namespaces.map((ns) => ns.name),
    );
    if (plan.controlPlane) state.add('rootLinks', [plan.controlPlane.rootLink.rootIfname]);
    lab = new LabRun(id, plan, state, dir);
    // The mount point for every host's private wireguard directory must exist in the root filesystem.
    mkdirSync('/run/wireguard', { recursive: true });
    mkdirSync('/run/wirekube', { recursive: true });
    for (const host of plan.hosts) {
      const wireguardDir = join(dir, 'hosts', host.name, 'wireguard');
      mkdirSync(wireguardDir, { recursive: true });
      mkdirSync(wirekubeRunDir(wireguardDir), { recursive: true, mode: 0o700 });
      lab.hosts.push(createHost(host, lab.shell(host.netns, wireguardDir), wireguardDir));
    }
    for (const router of plan.routers) lab.addRouter(router);
    const cpPlan = plan.controlPlane;
    // Certificates do not need the network: make them while namespaces are created.
    const pki = cpPlan
      ? createPki({ dir: join(dir, 'pki'), serverIPs: [cpPlan.internetAddress, cpPlan.rootLink.nsAddress] })
      : undefined;
    // Its failure is reported below, once everything started has settled; not as an unhandled rejection now.
    pki?.catch(() => undefined);
    await createTopology(plan, run);
    const network = configureTopology(plan, run);
    // The API server is the slow part: start it as soon as its namespace exists, in parallel with the rest.
    const controlPlane =
      cpPlan && pki
        ? startControlPlane({
            plan: cpPlan,
            shell: lab.shell(cpPlan.netns),
            dir: join(dir, 'controlplane'),
            crdDir: options.crdDir ?? DEFAULT_CRD_DIR,
            pki,
            network,
            controllers: controlPlaneOptions?.controllers ?? false,
          })
        : Promise.resolve(undefined);
    const registry =
      cpPlan && withRegistry
        ? network.then(() =>
            startRegistry({
              shell: lab!.shell(cpPlan.netns),
              dir: join(dir, 'registry'),
              address: cpPlan.internetAddress,
              rootAddress: cpPlan.rootLink.nsAddress,
            }),
          )
        : Promise.resolve(undefined);
    const stunPlan = plan.stun;
    const stun = stunPlan
      ? network.then(() => startStun(lab!.shell(stunPlan.netns), stunPlan.addresses, join(dir, 'stun')))
      : Promise.resolve(undefined);
    const settled = await Promise.allSettled([network, controlPlane, stun, pki, registry]);
    const failure = settled.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    const [, cpResult, stunResult, , registryResult] = settled;
    if (cpResult?.status === 'fulfilled' && cpResult.value) lab.controlPlane = cpResult.value;
    if (stunResult?.status === 'fulfilled' && stunResult.value) {
      lab.stun = stunResult.value;
      lab.stunServers = stunResult.value.servers;
    }
    if (registryResult?.status === 'fulfilled' && registryResult.value) lab.registry = registryResult.value;
    if (options.kubernetes && lab.controlPlane && lab.registry) {
      const run = lab;
      run.nodes.push(
        ...(await startKubernetes({
          runId: id,
          dir,
          hosts: run.hosts.map((host) => ({ host, spec: hosts.find((spec) => spec.name === host.name)! })),
          controlPlane: lab.controlPlane,
          registry: lab.registry,
          spawn: (argv) => run.spawnDirect(argv),
          recordMount: (path) => state.add('mounts', [path]),
          recordCgroup: (cgroup) => state.add('cgroups', [cgroup]),
        })),
      );
      run.loadBalancer = await createLoadBalancer({
        prefix: id,
        internetNetns: plan.namespaces.find((ns) => ns.role === 'internet')!.name,
        shell: (netns) => run.shell(netns),
        controlPlane: lab.controlPlane,
        nodes: run.nodes,
        recordNamespace: (netns) => state.add('namespaces', [netns]),
      });
    }
    return lab;
  } catch (error) {
    if (lab) await lab.destroy();
    else {
      teardownSync(state.resources);
      state.close();
    }
    throw error;
  }
}
