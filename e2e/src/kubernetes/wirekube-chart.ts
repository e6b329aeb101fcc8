// WireKube installed on a `kubernetes: true` lab the way an operator installs it: images and chart published to
// the lab registry, `helm install` from oci:// with a values file of what an operator sets, the nodes labelled,
// the relay's LoadBalancer given its address by the lab's load balancer. Shared by the k8s-* tests and the
// playground's --kubernetes mode.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { LabError } from '../errors.js';
import { sleep } from '../exec/pids.js';
import { type CommandResult, run } from '../exec/run.js';
import type { Lab } from '../lab.js';
import { localProgramImages } from '../registry/local-images.js';
import { CHART_DIR, helmEnv, IMAGE_PATH, type Released, releaseToRegistry } from '../registry/release.js';
import { toolPath } from '../tools.js';
import type { HostSpec } from '../topology/spec.js';

export const RELEASE = 'wirekube';
export const NAMESPACE = 'wirekube-system';
export const VPN_LABEL = 'wirekube.io/vpn-enabled';
/** NAT'd nodes carry it, as edge nodes often do: the relay and controller Deployments land on the public node. */
export const EDGE_TAINT = { key: 'lab.wirekube.io/behind-nat', value: 'true', effect: 'NoSchedule' } as const;

/** Four nodes: public, two cones in different LANs (hole punching), one symmetric (relayed to the cones). */
export const MESH_HOSTS: HostSpec[] = [
  { name: 'pub', nat: 'none' },
  { name: 'cone1', nat: 'cone', lan: 'lan1', taints: [EDGE_TAINT] },
  { name: 'cone2', nat: 'cone', lan: 'lan2', taints: [EDGE_TAINT] },
  { name: 'sym', nat: 'symmetric', lan: 'lan3', taints: [EDGE_TAINT] },
];

export interface ChartInstall {
  released: Released;
  /** The values file given to helm (what an operator writes). */
  valuesFile: string;
  imagesNote: string;
  /** Runs helm against the lab (admin kubeconfig, throwaway helm home). */
  helm(args: readonly string[], options?: { allowFail?: boolean }): Promise<CommandResult>;
  /** Node images as nodes pull them: `<lab registry>/wirekube`. */
  imageRegistry: string;
}

/**
 * What an operator sets: the image registry, the API server's real address (no kube-proxy on these nodes), the
 * relay provider; and for this lab, its STUN servers (no public one is reachable) and the wireguard-go DaemonSet
 * (these machines have no WireGuard kernel module).
 */
export function operatorValues(lab: Lab): Record<string, unknown> {
  const cp = lab.controlPlane!;
  const api = new URL(cp.hostServer);
  return {
    image: { registry: `${lab.registry!.address}/${IMAGE_PATH}` },
    apiServer: { host: api.hostname, port: Number(api.port || 443) },
    mesh: { stunServers: [...lab.stunServers], relay: { provider: 'managed' } },
    wireguardGo: { enabled: true },
  };
}

/** Publishes images and chart to the lab registry and makes the helm runner; installs nothing yet. */
export async function prepareChart(lab: Lab, dir: string): Promise<ChartInstall> {
  const registry = lab.registry;
  if (!registry || !lab.controlPlane) throw new LabError('prepareChart needs a lab with kubernetes: true');
  mkdirSync(dir, { recursive: true });
  const chartYaml = readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8');
  const appVersion = /^appVersion:\s*"?([^"\s]+)"?/m.exec(chartYaml)?.[1] ?? '0.0.0';
  const local = await localProgramImages();
  const released = await releaseToRegistry({
    registry: registry.rootAddress,
    images: local.images,
    tag: appVersion,
  });
  const valuesFile = join(dir, 'values.yaml');
  writeFileSync(valuesFile, stringify(operatorValues(lab)));
  const env = helmEnv(join(dir, 'helm-home'));
  const kubeconfig = lab.controlPlane.kubeconfigPath;
  return {
    released,
    valuesFile,
    imagesNote: local.note,
    imageRegistry: `${registry.address}/${IMAGE_PATH}`,
    helm: (args, options = {}) =>
      run([toolPath('helm'), `--kubeconfig=${kubeconfig}`, ...args], {
        env,
        timeoutMs: 10 * 60_000,
        ...(options.allowFail ? { allowFail: true } : {}),
      }),
  };
}

/** `helm <verb> wirekube oci://…/charts/wirekube --version … -n wirekube-system`, plus `extra`. */
function helmRelease(
  install: ChartInstall,
  verb: 'install' | 'upgrade',
  extra: string[],
): Promise<CommandResult> {
  return install.helm([
    verb,
    RELEASE,
    install.released.chart,
    '--version',
    install.released.chartVersion,
    '--plain-http',
    '--namespace',
    NAMESPACE,
    ...extra,
  ]);
}

/** `helm install wirekube oci://…/charts/wirekube -n wirekube-system --create-namespace -f values.yaml`. */
export async function helmInstall(install: ChartInstall): Promise<CommandResult> {
  return helmRelease(install, 'install', ['--create-namespace', '-f', install.valuesFile]);
}

/** `helm upgrade` of the installed release with the values it has, plus `--set` of each given value. */
export async function helmUpgrade(install: ChartInstall, set: readonly string[]): Promise<CommandResult> {
  return helmRelease(install, 'upgrade', ['--reuse-values', ...set.flatMap((v) => ['--set', v])]);
}

export async function labelNodes(lab: Lab, names: readonly string[], on = true): Promise<void> {
  const label = on ? `${VPN_LABEL}=true` : `${VPN_LABEL}-`;
  await lab.controlPlane!.kubectl(['label', 'node', ...names, label, '--overwrite']);
}

interface Rollout {
  status?: {
    desiredNumberScheduled?: number;
    numberReady?: number;
    updatedNumberScheduled?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    observedGeneration?: number;
  };
  metadata?: { generation?: number };
  spec?: { replicas?: number };
}

/** Waits until a DaemonSet or Deployment has every pod updated and ready. */
export async function waitRolledOut(
  lab: Lab,
  kind: 'daemonset' | 'deployment',
  name: string,
  timeoutMs: number,
  want?: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const { stdout, code } = await lab.controlPlane!.kubectl(
      ['get', kind, '-n', NAMESPACE, name, '-o', 'json'],
      {
        allowFail: true,
      },
    );
    if (code === 0) {
      const object = JSON.parse(stdout) as Rollout;
      const s = object.status ?? {};
      const observed = (s.observedGeneration ?? 0) >= (object.metadata?.generation ?? 0);
      const wanted =
        want ?? (kind === 'daemonset' ? (s.desiredNumberScheduled ?? 0) : (object.spec?.replicas ?? 1));
      const ready = kind === 'daemonset' ? (s.numberReady ?? 0) : (s.readyReplicas ?? 0);
      const updated = kind === 'daemonset' ? (s.updatedNumberScheduled ?? 0) : (s.updatedReplicas ?? 0);
      last = JSON.stringify(s);
      if (observed && wanted > 0 && ready === wanted && updated === wanted) return;
    }
    if (Date.now() > deadline) {
      throw new LabError(`${kind} ${name} not rolled out after ${timeoutMs} ms: ${last}\n${podSummary(lab)}`);
    }
    await sleep(500);
  }
}

/** Exposes the managed relay's LoadBalancer Service on the lab load balancer once it has a ready endpoint. */
export async function exposeRelay(lab: Lab, timeoutMs: number): Promise<void> {
  const name = `${RELEASE}-relay`;
  await waitRolledOut(lab, 'deployment', name, timeoutMs);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await lab.loadBalancer!.expose({ namespace: NAMESPACE, name });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(500);
    }
  }
}

/** Installs the chart, labels every node, waits for every component, exposes the relay. */
export async function installMesh(lab: Lab, dir: string, timeoutMs = 240_000): Promise<ChartInstall> {
  const install = await prepareChart(lab, dir);
  await helmInstall(install);
  await labelNodes(
    lab,
    lab.nodes.map((node) => node.name),
  );
  await exposeRelay(lab, timeoutMs);
  await Promise.all([
    waitRolledOut(lab, 'daemonset', `${RELEASE}-agent`, timeoutMs, lab.nodes.length),
    waitRolledOut(lab, 'daemonset', `${RELEASE}-wireguard-go`, timeoutMs, lab.nodes.length),
    waitRolledOut(lab, 'deployment', `${RELEASE}-controller`, timeoutMs),
  ]);
  return install;
}

/**
 * The last lines of every pod's container logs of a namespace, read from the nodes' podLogsDirs (`kubectl logs`
 * cannot reach a kubelet behind NAT). For failure messages.
 */
export function podLogs(lab: Lab, namespace = NAMESPACE, lines = 30): string {
  const out: string[] = [];
  for (const node of lab.nodes) {
    let pods: string[] = [];
    try {
      pods = readdirSync(node.dirs.podLogs).filter((dir) => dir.startsWith(`${namespace}_`));
    } catch {
      continue;
    }
    for (const pod of pods) {
      for (const container of readdirSync(join(node.dirs.podLogs, pod))) {
        const dir = join(node.dirs.podLogs, pod, container);
        for (const file of readdirSync(dir).sort()) {
          const text = readFileSync(join(dir, file), 'utf8').split('\n').slice(-lines).join('\n');
          out.push(`--- ${node.name} ${pod.split('_')[1]}/${container}/${file}\n${text}`);
        }
      }
    }
  }
  return out.join('\n');
}

/** Pod phases per node (synchronous-free summary for error messages is built by the caller). */
function podSummary(lab: Lab): string {
  return podLogs(lab, NAMESPACE, 8);
}
