// `npm run playground -- --kubernetes`: the same simulated networks, but every host a real Kubernetes Node (its
// own containerd and kubelet) and WireKube installed by its chart from the lab registry, as an operator would:
// `helm install`, then `kubectl label node`. The live view is what a newcomer asks a real cluster:
// `kubectl get pods,wirekubepeers -A`, plus the ping matrix over the mesh addresses.
import type { Lab } from '../index.js';
import { pingMatrix } from './ping-matrix.js';
import type { progress } from './progress.js';

export interface KubernetesPlaygroundContext {
  steps: ReturnType<typeof progress>;
  once: boolean;
  timeoutS: number;
  started: number;
  /** Work files (values file, helm home); removed by the caller's teardown. */
  stateDir: string;
  /** Told the lab as soon as it is being created, so that Ctrl-C during set-up removes it. */
  creating(lab: Promise<Lab>): void;
}

/** Runs until interrupted (or, with `once`, until every pair pings); returns the exit code. */
export async function kubernetesPlayground(ctx: KubernetesPlaygroundContext): Promise<number> {
  const [{ createLab }, chart] = await ctx.steps.step('loading the lab library', () =>
    Promise.all([import('../index.js'), import('../kubernetes/wirekube-chart.js')]),
  );
  const creating = ctx.steps.step(
    'bringing up the cluster: control plane, controllers, registry, STUN, 4 nodes (containerd + kubelet)',
    () => createLab({ hosts: chart.MESH_HOSTS, stun: true, kubernetes: true }),
  );
  ctx.creating(creating);
  const lab = await creating;
  const cp = lab.controlPlane!;
  try {
    await ctx.steps.step(
      'helm install wirekube from the lab registry and labelling the nodes (images are built once, first time: minutes)',
      () => chart.installMesh(lab, ctx.stateDir),
    );
  } catch (error) {
    console.error(`playground failed: ${(error as Error).message}\n${chart.podLogs(lab)}`);
    return 1;
  }
  const kubectl = `kubectl --kubeconfig ${cp.kubeconfigPath}`;
  const deadline = Date.now() + ctx.timeoutS * 1000;
  for (;;) {
    const [{ stdout: objects }, transports] = await Promise.all([
      cp.kubectl(['get', 'pods,wirekubepeers', '-A', '-o', 'wide'], { allowFail: true }),
      transportsOf(lab),
    ]);
    const matrix = await pingMatrix(lab.hosts, transports);
    if (!ctx.once) process.stdout.write('\x1b[2J\x1b[H');
    console.log(
      `WireKube playground, Kubernetes (lab ${lab.id}) — up ${Math.round((Date.now() - ctx.started) / 1000)} s\n`,
    );
    console.log(objects.trimEnd());
    console.log(`\nping over mesh addresses (d: direct, r: through the relay):\n${matrix.text}\n`);
    console.log(`${kubectl} get pods,wirekubepeers -A`);
    console.log(`${kubectl} get wirekubepeers -o wide`);
    console.log(`helm --kubeconfig ${cp.kubeconfigPath} list -n ${chart.NAMESPACE}`);
    console.log(`pod logs (kubectl logs cannot reach kubelets behind NAT): ${lab.nodes[0]!.dirs.podLogs}/…`);
    if (ctx.once && matrix.allOk) {
      console.log(`\nevery pair pings: mesh up in ${Math.round((Date.now() - ctx.started) / 1000)} s`);
      return 0;
    }
    if (ctx.once && Date.now() > deadline) {
      console.error(`\nnot every pair pings after ${ctx.timeoutS} s\n${chart.podLogs(lab)}`);
      return 1;
    }
    if (!ctx.once) console.log('\nCtrl-C to stop and remove everything.');
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

/** Each pair's transport as the sending node's WireKubePeer reports it. */
async function transportsOf(lab: Lab): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const { stdout, code } = await lab.controlPlane!.kubectl(['get', 'wirekubepeers', '-o', 'json'], {
    allowFail: true,
  });
  if (code !== 0) return out;
  const list = JSON.parse(stdout) as {
    items: { metadata: { name: string }; status?: { peerTransports?: Record<string, string> } }[];
  };
  for (const peer of list.items) {
    for (const [to, mode] of Object.entries(peer.status?.peerTransports ?? {})) {
      out.set(`${peer.metadata.name}>${to}`, mode === 'relay' ? 'r' : 'd');
    }
  }
  return out;
}
