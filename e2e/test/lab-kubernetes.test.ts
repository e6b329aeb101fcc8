// Issue 14 foundations: real Kubernetes nodes in the lab. Two hosts (one public, one behind a cone NAT) become
// Nodes with their own containerd and kubelet, register and go Ready; a hostNetwork DaemonSet of a tiny image,
// built here and pushed to the lab registry, runs on both and sees each node's own network; the teardown
// leaves no namespace, process, mount, cgroup or file behind.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../src/index.js';
import { waitFor } from '../src/mesh/fixture.js';
import { pushImage } from '../src/registry/push.js';
import { STATE_ROOT } from '../src/state/runs.js';
import { toolPath } from '../src/tools.js';

const hasBuildah = spawnSync('buildah', ['--version']).status === 0;

/** Builds FROM scratch with the static lab-pause binary as `/probe addrs`, and pushes it (buildah when present). */
async function buildProbeImage(lab: Lab, reference: string): Promise<void> {
  const registry = lab.registry!;
  if (!hasBuildah) {
    await pushImage(registry.rootAddress, 'lab/probe', '1', {
      files: [{ path: 'probe', content: readFileSync(toolPath('lab-pause')) }],
      entrypoint: ['/probe', 'addrs'],
    });
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'wirekube-probe-image-'));
  try {
    const store = ['--root', join(work, 'storage'), '--runroot', join(work, 'run')];
    const context = join(work, 'context');
    spawnSync('mkdir', ['-p', context]);
    writeFileSync(join(context, 'probe'), readFileSync(toolPath('lab-pause')), { mode: 0o755 });
    writeFileSync(
      join(context, 'Containerfile'),
      'FROM scratch\nCOPY probe /probe\nENTRYPOINT ["/probe", "addrs"]\n',
    );
    const buildah = (args: string[]) => {
      const result = spawnSync('buildah', [...store, ...args], { encoding: 'utf8', timeout: 120_000 });
      if (result.status !== 0) throw new Error(`buildah ${args.join(' ')}: ${result.stderr}`);
    };
    buildah(['bud', '--quiet', '--storage-driver', 'vfs', '-t', 'lab/probe:1', context]);
    buildah([
      'push',
      '--storage-driver',
      'vfs',
      '--tls-verify=false',
      'lab/probe:1',
      `docker://${registry.rootAddress}/${reference.split('/').slice(1).join('/')}`,
    ]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function daemonSet(image: string): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'probe', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'probe' } },
      template: {
        metadata: { labels: { app: 'probe' } },
        spec: {
          hostNetwork: true,
          tolerations: [{ operator: 'Exists' }],
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'probe', image, imagePullPolicy: 'Always' }],
        },
      },
    },
  });
}

function mountsMentioning(text: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.includes(text));
}

function cgroupsOf(id: string): string[] {
  const found: string[] = [];
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    try {
      for (const entry of readdirSync(join('/sys/fs/cgroup', hierarchy))) {
        if (entry.startsWith(`wklab-${id}-`)) found.push(`${hierarchy}/${entry}`);
      }
    } catch {
      // Not a directory.
    }
  }
  return found;
}

/** Processes whose command line mentions the run's directory (containerd, kubelet, shims). */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(text)) found.push(`${entry} ${cmdline.slice(0, 200)}`);
    } catch {
      // Exited meanwhile.
    }
  }
  return found;
}

describe('lab with kubernetes: true', () => {
  let lab: Lab;
  let createMs = 0;

  beforeAll(async () => {
    const began = performance.now();
    lab = await createLab({
      hosts: [
        { name: 'pub', nat: 'none', labels: { 'wirekube.io/vpn-enabled': 'true' } },
        {
          name: 'home',
          nat: 'cone',
          labels: { 'wirekube.io/vpn-enabled': 'true', 'topology.kubernetes.io/zone': 'home' },
          taints: [{ key: 'wirekube.io/edge', value: 'true', effect: 'NoSchedule' }],
        },
      ],
      kubernetes: true,
    });
    createMs = performance.now() - began;
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('every host registers as a Node with its labels and taints, and is Ready', async () => {
    const { stdout } = await lab.controlPlane!.kubectl(['get', 'nodes', '-o', 'json']);
    const nodes = (
      JSON.parse(stdout) as {
        items: {
          metadata: { name: string; labels: Record<string, string> };
          spec: { taints?: { key: string; effect: string }[] };
          status: {
            addresses: { type: string; address: string }[];
            conditions: { type: string; status: string }[];
          };
        }[];
      }
    ).items;
    expect(nodes.map((node) => node.metadata.name).sort()).toEqual(['home', 'pub']);
    for (const node of nodes) {
      const host = lab.host(node.metadata.name);
      expect(node.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
      expect(node.status.addresses).toContainEqual({ type: 'InternalIP', address: host.address });
      expect(node.metadata.labels['wirekube.io/vpn-enabled']).toBe('true');
    }
    const home = nodes.find((node) => node.metadata.name === 'home')!;
    expect(home.metadata.labels['topology.kubernetes.io/zone']).toBe('home');
    expect(home.spec.taints).toContainEqual(
      expect.objectContaining({ key: 'wirekube.io/edge', effect: 'NoSchedule' }),
    );
    console.log(`kubernetes lab (2 nodes Ready) created in ${(createMs / 1000).toFixed(1)} s`);
  });

  it('each node has its own /var/lib/wirekube and /run/wireguard', async () => {
    await lab
      .node('pub')
      .exec(['sh', '-c', 'echo pub > /var/lib/wirekube/owner && echo pub > /run/wireguard/owner']);
    expect(readFileSync(join(lab.node('pub').dirs.wirekube, 'owner'), 'utf8')).toBe('pub\n');
    expect(readFileSync(join(lab.host('pub').wireguardDir, 'owner'), 'utf8')).toBe('pub\n');
    const other = await lab.node('home').exec(['cat', '/var/lib/wirekube/owner'], { allowFail: true });
    expect(other.code).not.toBe(0);
    expect(existsSync('/var/lib/wirekube/owner')).toBe(false);
  });

  it('a hostNetwork DaemonSet of an image from the lab registry runs on both nodes, each in its own network', async () => {
    const image = `${lab.registry!.address}/lab/probe:1`;
    await buildProbeImage(lab, image);
    await lab.controlPlane!.kubectl(['apply', '-f', '-'], { input: daemonSet(image) });
    await waitFor(
      async () => {
        const { stdout } = await lab.controlPlane!.kubectl(['get', 'daemonset', 'probe', '-o', 'json']);
        const status = (JSON.parse(stdout) as { status?: { numberReady?: number } }).status;
        return status?.numberReady === 2;
      },
      90_000,
      'the probe DaemonSet Ready on both nodes',
    );
    // No `kubectl logs`: the API server cannot reach a kubelet behind NAT (as on real clusters).
    for (const node of lab.nodes) {
      const podDir = readdirSync(node.dirs.podLogs).find((dir) => dir.startsWith('default_probe-'));
      expect(podDir, node.name).toBeDefined();
      const log = readFileSync(join(node.dirs.podLogs, podDir!, 'probe', '0.log'), 'utf8');
      expect(log).toContain(`${node.host.address}/`);
      for (const other of lab.nodes.filter((candidate) => candidate !== node)) {
        expect(log).not.toContain(`${other.host.address}/`);
      }
    }
  }, 180_000);

  it('destroy leaves no namespace, process, mount, cgroup or directory', async () => {
    const { id } = lab;
    const runDir = join(STATE_ROOT, id);
    expect(mountsMentioning(runDir).length).toBeGreaterThan(0);
    expect(cgroupsOf(id).length).toBeGreaterThan(0);
    const began = performance.now();
    await lab.destroy();
    console.log(`kubernetes lab destroyed in ${((performance.now() - began) / 1000).toFixed(1)} s`);
    expect(readdirSync('/run/netns').filter((ns) => ns.startsWith(`${id}-`))).toEqual([]);
    expect(processesMentioning(runDir)).toEqual([]);
    expect(mountsMentioning(runDir)).toEqual([]);
    expect(cgroupsOf(id)).toEqual([]);
    expect(existsSync(runDir)).toBe(false);
  });
});
