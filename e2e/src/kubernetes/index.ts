import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ControlPlane } from '../controlplane/index.js';
import { LabTimeoutError } from '../errors.js';
import { sleep } from '../exec/pids.js';
import type { LabProcess } from '../exec/process.js';
import type { LabHost } from '../host.js';
import { pushImage } from '../registry/push.js';
import type { LabRegistry } from '../registry/server.js';
import { toolPath } from '../tools.js';
import type { ResolvedHost } from '../topology/spec.js';
import { podCidr } from './config.js';
import { createMountHolder, type RecordMount } from './mounts.js';
import { type LabNode, startNode } from './node.js';

export type { LabNode } from './node.js';

/** The pod sandbox image every node's containerd pulls from the lab registry. */
export const PAUSE_REPOSITORY = 'lab/pause';
export const PAUSE_TAG = 'v1';

export interface KubernetesStart {
  runId: string;
  dir: string;
  hosts: readonly { host: LabHost; spec: ResolvedHost }[];
  controlPlane: ControlPlane;
  registry: LabRegistry;
  spawn(argv: readonly string[]): LabProcess;
  recordMount: RecordMount;
  recordCgroup(cgroup: string): void;
  readyTimeoutMs?: number;
}

interface NodeList {
  items: {
    metadata: { name: string };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
}

/** Resolves once every named Node reports Ready=True. */
export async function waitNodesReady(
  controlPlane: ControlPlane,
  names: readonly string[],
  timeoutMs: number,
  processes: readonly LabProcess[] = [],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending = [...names];
  for (;;) {
    const dead = processes.find((process) => process.done);
    if (dead) {
      throw new LabTimeoutError(
        'nodes Ready',
        timeoutMs,
        `${dead.argv.join(' ')} exited: ${dead.output().slice(-3000)}`,
      );
    }
    const { stdout, code } = await controlPlane.kubectl(['get', 'nodes', '-o', 'json'], { allowFail: true });
    if (code === 0) {
      const ready = new Set(
        (JSON.parse(stdout) as NodeList).items
          .filter((node) => node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
          .map((node) => node.metadata.name),
      );
      pending = names.filter((name) => !ready.has(name));
      if (pending.length === 0) return;
    }
    if (Date.now() > deadline) {
      const logs = processes
        .map((p) => `--- ${p.argv.slice(-8).join(' ')}\n${p.output().slice(-1500)}`)
        .join('\n');
      throw new LabTimeoutError('nodes Ready', timeoutMs, `not Ready: ${pending.join(', ')}\n${logs}`);
    }
    await sleep(200);
  }
}

/** Pushes the sandbox image, starts every node (containerd + kubelet) in parallel, waits until all are Ready. */
export async function startKubernetes(start: KubernetesStart): Promise<LabNode[]> {
  await pushImage(start.registry.rootAddress, PAUSE_REPOSITORY, PAUSE_TAG, {
    files: [{ path: 'pause', content: readFileSync(toolPath('lab-pause')) }],
    entrypoint: ['/pause'],
  });
  const holder = join(start.dir, 'mnt');
  await createMountHolder(holder, start.recordMount);
  const nodes = await Promise.all(
    start.hosts.map(({ host, spec }, index) =>
      startNode({
        host,
        spec,
        runId: start.runId,
        dir: join(start.dir, 'nodes', host.name),
        holder,
        pki: start.controlPlane.pki,
        server: start.controlPlane.hostServer,
        registry: start.registry.address,
        sandboxImage: `${start.registry.address}/${PAUSE_REPOSITORY}:${PAUSE_TAG}`,
        podCidr: podCidr(index),
        spawn: start.spawn,
        recordMount: start.recordMount,
        recordCgroup: start.recordCgroup,
      }),
    ),
  );
  await waitNodesReady(
    start.controlPlane,
    nodes.map((node) => node.name),
    start.readyTimeoutMs ?? 60_000,
    nodes.flatMap((node) => [node.containerd, node.kubelet]),
  );
  return nodes;
}
