// Issue 13 (last "Done when" item): the agent IMAGE joins a lab mesh when podman runs it inside a lab host's
// network namespace the way a DaemonSet runs it (hostNetwork, NET_ADMIN + NET_RAW, /dev/net/tun, the host's
// /run/wireguard and key directory, a kubeconfig naming the lab API server). The other host runs the agent as a
// plain process; the two must ping each other through the tunnel and both WireKubePeers show connected.
// Fails (never skips) when podman or buildah is missing: e2e/setup.sh provisions them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnTracked } from '../src/exec/process.js';
import { run } from '../src/exec/run.js';
import { createLab, type Lab } from '../src/index.js';
import { MeshFixture, type RunningAgent, waitFor } from '../src/mesh/fixture.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = mkdtempSync(join(tmpdir(), 'wirekube-image-mesh-'));
// Same test-only repository as images-build.test.ts, so nothing here touches images a person built.
const registry = 'localhost/wirekube-test';
const containersConf = join(work, 'containers.conf');
const podmanEnv = { CONTAINERS_CONF: containersConf };
// podman on these hosts: runc (crun fails on the hybrid cgroups), cgroupfs, and rlimits it may set here.
const podman = ['podman', '--runtime', 'runc', '--cgroup-manager=cgroupfs'];
const container = `wirekube-agent-mesh-${process.pid}`;
const IMAGE_HOST = 'home';
const PROCESS_HOST = 'pub';

let lab: Lab | undefined;
let mesh: MeshFixture | undefined;
let image = '';
let imageNote = '';

async function has(tool: string): Promise<boolean> {
  return (await run(['sh', '-c', `command -v ${tool}`], { allowFail: true })).code === 0;
}

// The image is keyed by the last commit that changed anything but e2e/, charts/ and docs, so commits to those
// reuse the image built for the same program sources (a full build takes minutes on these machines).
// WIREKUBE_TEST_AGENT_IMAGE names an image to use as it is (one a pipeline built already).
async function agentImage(): Promise<string> {
  const given = process.env['WIREKUBE_TEST_AGENT_IMAGE'];
  if (given) {
    imageNote = `used ${given} (WIREKUBE_TEST_AGENT_IMAGE)`;
    return given;
  }
  const source = (
    await run(['git', '-C', repo, 'rev-list', '-1', 'HEAD', '--', '.', ':!e2e', ':!charts', ':!*.md'])
  ).stdout.trim();
  const wanted = `${registry}/agent:src-${source.slice(0, 12)}`;
  if ((await run([...podman, 'image', 'exists', wanted], { allowFail: true })).code === 0) {
    imageNote = `reused ${wanted}`;
    return wanted;
  }
  const started = Date.now();
  const clone = join(work, 'clone');
  await run(['git', 'clone', '--quiet', '--no-checkout', repo, clone], { timeoutMs: 120_000 });
  await run(['git', '-C', clone, 'checkout', '--quiet', source]);
  await run(['bash', 'images/build.sh', 'agent'], {
    cwd: clone,
    env: { ...process.env, REGISTRY: registry, TAG: `src-${source.slice(0, 12)}` },
    timeoutMs: 15 * 60_000,
  });
  // Older source-keyed agent images of this test are stale now; images-build's run-* tags are its own.
  const { stdout } = await run(
    [...podman, 'images', '--format', '{{.Repository}}:{{.Tag}}', `${registry}/agent`],
    { allowFail: true },
  );
  for (const old of stdout.split('\n').filter((i) => i.includes(':src-') && i !== wanted)) {
    await run([...podman, 'rmi', old], { allowFail: true });
  }
  imageNote = `built ${wanted} in ${((Date.now() - started) / 1000).toFixed(0)} s`;
  return wanted;
}

/**
 * Runs the agent image in the host's network namespace, as the chart's DaemonSet would on a node. Through
 * nsenter, not the host's `ip netns exec` wrapper: that remounts /sys and runc then finds no cgroup mount
 * ("no cgroup mount found in mountinfo"). The host's private /run/wireguard is mounted in explicitly instead.
 */
function startImageAgent(fixture: MeshFixture, lab: Lab): RunningAgent {
  const host = lab.host(IMAGE_HOST);
  const cp = lab.controlPlane!;
  const keyDir = fixture.keyDirOf(host);
  mkdirSync(keyDir, { recursive: true });
  const agentProcess = spawnTracked(
    [
      'nsenter',
      `--net=/run/netns/${host.netns}`,
      ...podman,
      'run',
      '--rm',
      // Only the image built or named here: no registry is reachable from the lab, nor should be asked.
      '--pull',
      'never',
      '--name',
      container,
      '--network',
      'host',
      '--cap-add',
      'NET_ADMIN',
      '--cap-add',
      'NET_RAW',
      '--device',
      '/dev/net/tun',
      '-v',
      `${host.wireguardDir}:/run/wireguard`,
      '-v',
      `${keyDir}:/var/lib/wirekube`,
      '-v',
      `${cp.hostKubeconfigPath}:/etc/wirekube/kubeconfig:ro`,
      // The container's /proc/sys is read-only (as in a Kubernetes pod), and the agent sets its interface's
      // net sysctls: the host's /proc/sys, written through --proc-root. Net sysctls follow the writer's
      // network namespace, so this is the lab host's.
      '-v',
      '/proc/sys:/host/proc/sys',
      image,
      'run',
      '--node-name',
      host.name,
      '--kubeconfig',
      '/etc/wirekube/kubeconfig',
      '--proc-root',
      '/host/proc',
      '--reconcile-interval-ms',
      '1000',
    ],
    { env: { ...process.env, ...podmanEnv }, netns: host.netns },
  );
  const agent = { host, process: agentProcess, keyDir };
  fixture.agents.set(host.name, agent);
  return agent;
}

beforeAll(async () => {
  expect(await has('podman'), 'podman missing: run npm run lab:setup').toBe(true);
  expect(await has('buildah'), 'buildah missing: run npm run lab:setup').toBe(true);
  writeFileSync(containersConf, '[containers]\ndefault_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]\n');
  image = await agentImage();
  lab = await createLab({
    hosts: [
      { name: PROCESS_HOST, nat: 'none' },
      { name: IMAGE_HOST, nat: 'cone', lan: 'lan1' },
    ],
    stun: true,
    controlPlane: true,
  });
  mesh = new MeshFixture(lab, join(work, 'state'));
  await mesh.createMesh();
  await mesh.registerNodes();
  const started = [mesh.startAgent(lab.host(PROCESS_HOST)), startImageAgent(mesh, lab)];
  // The container's first start also sets up its storage overlay: give it longer than a plain process.
  await Promise.all(started.map((a) => mesh!.waitStarted(a, 120_000)));
}, 20 * 60_000);

afterAll(async () => {
  // The container first: its conmon would otherwise keep the host namespace alive past lab.destroy.
  await run([...podman, 'rm', '--force', '--time', '5', container], {
    env: { ...process.env, ...podmanEnv },
    allowFail: true,
    timeoutMs: 60_000,
  });
  await mesh?.stopAll();
  await lab?.destroy();
  rmSync(work, { recursive: true, force: true });
  if (imageNote) console.log(`[images-agent-mesh] ${imageNote}`);
}, 120_000);

describe('the agent image under podman in a lab host namespace', () => {
  it('the two hosts ping each other over their mesh addresses, through wire_kube', async () => {
    const [pub, home] = [lab!.host(PROCESS_HOST), lab!.host(IMAGE_HOST)];
    await waitFor(
      async () => {
        const results = await Promise.all([
          mesh!.ping(pub, home.address, { count: 1 }),
          mesh!.ping(home, pub.address, { count: 1 }),
        ]);
        return results.every((r) => r.loss === 0);
      },
      90_000,
      'pub ↔ home to answer one ping each way',
    ).catch((error) => {
      throw new Error(`${(error as Error).message}\n${mesh!.logs()}`);
    });
    expect((await mesh!.ping(pub, home.address, { count: 3 })).loss).toBe(0);
    expect((await mesh!.ping(home, pub.address, { count: 3 })).loss).toBe(0);
    // The image's host reaches the public host over the tunnel, not over the internet route it also has.
    const route = (await home.exec(['ip', 'route', 'get', pub.address])).stdout;
    expect(route).toContain('dev wire_kube');
    expect(route).toContain('table 22347');
  });

  it('the interface in the image host is served by the wireguard-go inside the container', async () => {
    const home = lab!.host(IMAGE_HOST);
    const peers = (await home.exec(['wg', 'show', 'wire_kube', 'peers'])).stdout.trim();
    const pubPeer = await mesh!.peer(`node-${PROCESS_HOST}`);
    expect(peers).toBe(pubPeer?.spec.publicKey);
    const { stdout } = await run([...podman, 'top', container, 'args'], {
      env: { ...process.env, ...podmanEnv },
    });
    expect(stdout).toContain('wireguard-go');
  });

  it('both WireKubePeers show connected', async () => {
    await waitFor(
      async () => {
        const peers = await mesh!.peers();
        return [PROCESS_HOST, IMAGE_HOST].every(
          (n) => peers.find((p) => p.metadata.name === `node-${n}`)?.status?.connected === true,
        );
      },
      60_000,
      'both peers to report connected',
    ).catch((error) => {
      throw new Error(`${(error as Error).message}\n${mesh!.logs()}`);
    });
    const { stdout } = await lab!.controlPlane!.kubectl(['get', 'wirekubepeers']);
    expect(stdout).toMatch(new RegExp(`node-${PROCESS_HOST}\\s+\\S+:51820\\s+cone\\s+direct\\s+true`));
    expect(stdout).toMatch(new RegExp(`node-${IMAGE_HOST}\\s+\\S+:\\d+\\s+cone\\s+direct\\s+true`));
  });
});
