// Issue 14, end to end through the chart on real kubelets: four nodes (public, two cones in different LANs,
// one symmetric), the three images and the chart published to the lab registry, `helm install` from oci://
// with a values file of what an operator sets, the nodes labelled; the mesh forms from the chart alone.
// One lab for the whole file, its steps in order (install, upgrade, node removal, uninstall): each `it` builds
// on the one before, and the CI budget (CONTRACTS.md: ≤ 8 min for k8s) has room for one cluster only.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidsInNetns } from '../src/chaos/index.js';
import { createLab, type Lab, type LabHost } from '../src/index.js';
import {
  type ChartInstall,
  helmUpgrade,
  installMesh,
  labelNodes,
  MESH_HOSTS,
  NAMESPACE,
  podLogs,
  RELEASE,
  waitRolledOut,
} from '../src/kubernetes/wirekube-chart.js';
import { waitFor } from '../src/mesh/fixture.js';
import { removeLocalImage, retagWithLabel } from '../src/registry/local-images.js';
import { pushLocalImage, REPO_ROOT } from '../src/registry/release.js';

const work = mkdtempSync(join(tmpdir(), 'wirekube-k8s-helm-'));
const NAMES = MESH_HOSTS.map((h) => h.name);
const PAIRS = NAMES.flatMap((a, i) => NAMES.slice(i + 1).map((b) => [a, b] as const));
/** What the NAT types make of each pair: cone↔symmetric cannot hole-punch (LAB-FACTS), everything else can. */
const RELAYED = new Set(['cone1/sym', 'cone2/sym']);
const pairMode = (a: string, b: string) => (RELAYED.has([a, b].sort().join('/')) ? 'relay' : 'direct');

let lab: Lab;
let install: ChartInstall;
const notes: string[] = [];
const upgradeImage = `localhost/wirekube-test/agent:upgrade-${process.pid}`;

interface Peer {
  metadata: { name: string };
  spec: { publicKey: string; endpoint?: string; allowedIPs?: string[] };
  status?: {
    natType?: string;
    transportMode?: string;
    peerTransports?: Record<string, string>;
    connected?: boolean;
  };
}

interface Pod {
  metadata: { name: string; uid: string; labels?: Record<string, string> };
  spec: {
    nodeName?: string;
    serviceAccountName?: string;
    automountServiceAccountToken?: boolean;
    volumes?: { name: string; hostPath?: { path: string }; projected?: unknown; secret?: unknown }[];
    containers: {
      name: string;
      image: string;
      command?: string[];
      env?: { name: string; value?: string }[];
      volumeMounts?: { mountPath: string }[];
    }[];
  };
  status: {
    phase?: string;
    containerStatuses?: { ready: boolean; state?: { running?: { startedAt?: string } } }[];
  };
}

async function kubectlJson<T>(args: string[]): Promise<T> {
  return JSON.parse((await lab.controlPlane!.kubectl([...args, '-o', 'json'])).stdout) as T;
}

async function pods(selector?: string): Promise<Pod[]> {
  return (
    await kubectlJson<{ items: Pod[] }>([
      'get',
      'pods',
      '-n',
      NAMESPACE,
      ...(selector ? ['-l', selector] : []),
    ])
  ).items;
}

async function peers(): Promise<Peer[]> {
  return (await kubectlJson<{ items: Peer[] }>(['get', 'wirekubepeers'])).items;
}

async function pingOnce(from: LabHost, to: LabHost): Promise<boolean> {
  const r = await from.exec(['ping', '-n', '-q', '-c', '1', '-W', '1', to.address], { allowFail: true });
  return r.code === 0;
}

function failure(error: unknown): Error {
  return new Error(`${(error as Error).message}\n${podLogs(lab)}`);
}

/** The agent's own view of each pair, from both WireKubePeers' peerTransports. */
function transports(list: Peer[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const peer of list) {
    const self = peer.metadata.name.replace(/^node-/, '');
    for (const [other, mode] of Object.entries(peer.status?.peerTransports ?? {})) {
      out.set(`${self}->${other.replace(/^node-/, '')}`, mode);
    }
  }
  return out;
}

/**
 * `ping -i <interval>` in a host until `stop()`; then the count of sent and received and each reply's receive
 * time (ping -D). SIGINT makes ping print its summary, so the wrapper interrupts it when a stop file appears.
 */
function continuousPing(from: LabHost, to: string, intervalS: number) {
  const stopFile = join(work, `stop-${from.name}-${to}`);
  const script = `ping -n -D -i ${intervalS} -W 1 ${to} & p=$!; while [ ! -e ${stopFile} ]; do sleep 0.1; done; kill -INT $p; wait $p`;
  const process = from.spawn(['sh', '-c', script]);
  return {
    async stop() {
      writeFileSync(stopFile, '');
      await process.exited;
      const output = process.output();
      const sent = Number(/(\d+) packets transmitted/.exec(output)?.[1] ?? 0);
      const received = Number(/(\d+) received/.exec(output)?.[1] ?? 0);
      const matches = [...output.matchAll(/^\[(\d+\.\d+)\].*icmp_seq=(\d+)/gm)];
      const replies = matches.map((m) => Number(m[1]));
      const seqs = matches.map((m) => Number(m[2])).sort((a, b) => a - b);
      return { sent, received, replies, seqs, output };
    },
  };
}

/**
 * Issue 14: a relayed pair carries traffic again within 2 s of an agent restart on either end. The relay
 * connection and proxy live in the relay-link DaemonSet (OnDelete), so rolling the agents leaves them forwarding.
 */
const RELAY_RESUME_TARGET_S = 2;

/**
 * Lost = requests never answered up to the last one answered: ping's own count of replies against the highest
 * answered sequence number, so the request in flight when ping was interrupted is not a loss (the captured
 * output keeps only its newest MiB, so the summary counts, not the lines, are the record).
 */
function lostOf(received: number, seqs: readonly number[]): number {
  return Math.max(0, ...seqs) - received;
}

/** Gaps (seconds) between consecutive replies longer than a few intervals: each is an outage. */
function gapsOf(replies: readonly number[], intervalS: number): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < replies.length; i++) {
    const gap = replies[i]! - replies[i - 1]!;
    if (gap > Math.max(0.3, intervalS * 6)) gaps.push(gap);
  }
  return gaps;
}

beforeAll(async () => {
  const began = performance.now();
  lab = await createLab({ hosts: MESH_HOSTS, stun: true, kubernetes: true });
  notes.push(`lab with 4 Ready nodes in ${((performance.now() - began) / 1000).toFixed(1)} s`);
}, 180_000);

afterAll(async () => {
  for (const note of notes) console.log(`[k8s-helm-mesh] ${note}`);
  await lab?.destroy();
  await removeLocalImage(upgradeImage);
  rmSync(work, { recursive: true, force: true });
}, 300_000);

describe('WireKube through its chart on a real four-node cluster', () => {
  it('helm install from the lab registry + labels: every pair pings over the mesh within 60 s', async () => {
    const began = performance.now();
    install = await installMesh(lab, join(work, 'install')).catch((error) => {
      throw failure(error);
    });
    const installed = performance.now();
    notes.push(
      `images: ${install.imagesNote}; release pushed in ${install.released.seconds.toFixed(1)} s; ` +
        `install + labels → all pods ready in ${((installed - began) / 1000).toFixed(1)} s`,
    );
    // The values file holds only what an operator sets.
    const values = readFileSync(install.valuesFile, 'utf8');
    expect(Object.keys((await import('yaml')).parse(values) as object).sort()).toEqual([
      'apiServer',
      'image',
      'mesh',
      'wireguardGo',
    ]);
    // Every pair, both ways, over wire_kube (table 22347), within 60 s of the agents being up.
    const pending = new Set(PAIRS.flatMap(([a, b]) => [`${a}->${b}`, `${b}->${a}`]));
    await waitFor(
      async () => {
        await Promise.all(
          [...pending].map(async (pair) => {
            const [a, b] = pair.split('->') as [string, string];
            if (await pingOnce(lab.host(a), lab.host(b))) pending.delete(pair);
          }),
        );
        return pending.size === 0;
      },
      60_000,
      'every pair to ping over the mesh',
    ).catch(async (error) => {
      const { stdout } = await lab.controlPlane!.kubectl(['get', 'wirekubepeers', '-o', 'wide'], {
        allowFail: true,
      });
      throw failure(
        new Error(`${(error as Error).message}; still failing: ${[...pending].join(', ')}\n${stdout}`),
      );
    });
    notes.push(
      `every pair pinged ${((performance.now() - installed) / 1000).toFixed(1)} s after the pods were ready`,
    );
    for (const [a, b] of PAIRS) {
      const route = (await lab.host(a).exec(['ip', 'route', 'get', lab.host(b).address])).stdout;
      expect(route, `${a} → ${b}`).toContain('dev wire_kube');
    }
  }, 420_000);

  it('kubectl get wirekubepeers shows the right NAT and Mode for each node', async () => {
    const expectedNat: Record<string, string> = {
      pub: 'cone',
      cone1: 'cone',
      cone2: 'cone',
      sym: 'symmetric',
    };
    const expectedMode = (name: string) => {
      const modes = new Set(NAMES.filter((n) => n !== name).map((n) => pairMode(name, n)));
      return modes.size === 1 ? [...modes][0] : 'mixed';
    };
    let list: Peer[] = [];
    await waitFor(
      async () => {
        list = await peers();
        const seen = transports(list);
        return (
          list.length === 4 &&
          list.every((p) => {
            const name = p.metadata.name.replace(/^node-/, '');
            return p.status?.natType === expectedNat[name] && p.status?.transportMode === expectedMode(name);
          }) &&
          PAIRS.every(
            ([a, b]) =>
              seen.get(`${a}->${b}`) === pairMode(a, b) && seen.get(`${b}->${a}`) === pairMode(a, b),
          )
        );
      },
      90_000,
      'NAT types and transport modes to settle',
    ).catch(async (error) => {
      const { stdout } = await lab.controlPlane!.kubectl(['get', 'wirekubepeers', '-o', 'yaml'], {
        allowFail: true,
      });
      throw failure(new Error(`${(error as Error).message}\n${stdout}`));
    });
    const { stdout } = await lab.controlPlane!.kubectl(['get', 'wirekubepeers']);
    console.log(stdout);
    expect(stdout).toMatch(/\bNAT\b/);
    expect(stdout).toMatch(/\bMODE\b/);
    for (const name of NAMES) {
      expect(stdout).toMatch(
        new RegExp(`node-${name}\\s.*\\b${expectedNat[name]}\\s+${expectedMode(name)}\\b`),
      );
    }
  }, 120_000);

  it('pods run with the chart RBAC only: their own service accounts, no admin credentials anywhere', async () => {
    const all = await pods();
    const components = new Map<string, string | undefined>(
      all.map((p) => [p.metadata.labels?.['app.kubernetes.io/component'] ?? '?', p.spec.serviceAccountName]),
    );
    expect(components).toEqual(
      new Map([
        ['agent', `${RELEASE}-agent`],
        ['wireguard-go', 'default'],
        ['relay-link', 'default'],
        ['controller', `${RELEASE}-controller`],
        ['relay', `${RELEASE}-relay`],
      ]),
    );
    const pki = join(lab.controlPlane!.caCertPath, '..');
    for (const pod of all) {
      const component = pod.metadata.labels?.['app.kubernetes.io/component'];
      for (const volume of pod.spec.volumes ?? []) {
        // hostPaths are the dataplane's (keys, sockets, sysctls), never the lab's PKI or kubeconfigs.
        expect(volume.hostPath?.path ?? '', `${pod.metadata.name} ${volume.name}`).not.toContain(pki);
        expect(volume.hostPath?.path ?? '', pod.metadata.name).not.toMatch(/kubeconfig|\.kube|pki/);
        expect(volume.secret, `${pod.metadata.name}: no secret volume`).toBeUndefined();
      }
      for (const container of pod.spec.containers) {
        expect(container.env?.map((e) => e.name) ?? [], pod.metadata.name).not.toContain('KUBECONFIG');
      }
      // The relay, wireguard-go and the relay link talk to no API server: no token in their pods at all.
      if (component === 'relay' || component === 'wireguard-go' || component === 'relay-link') {
        expect(pod.spec.automountServiceAccountToken, pod.metadata.name).toBe(false);
        expect(
          pod.spec.volumes?.some((v) => v.projected),
          pod.metadata.name,
        ).toBeFalsy();
      }
    }
    // The service accounts can do what the chart grants, and no more.
    const can = async (sa: string, verb: string, resource: string, ns?: string) =>
      (
        await lab.controlPlane!.kubectl(
          [
            'auth',
            'can-i',
            verb,
            resource,
            `--as=system:serviceaccount:${NAMESPACE}:${sa}`,
            ...(ns ? ['-n', ns] : []),
          ],
          { allowFail: true },
        )
      ).stdout.trim();
    expect(await can(`${RELEASE}-agent`, 'patch', 'wirekubepeers.wirekube.io')).toBe('yes');
    expect(await can(`${RELEASE}-agent`, 'get', 'secrets', NAMESPACE)).toBe('no');
    expect(await can(`${RELEASE}-agent`, 'delete', 'nodes')).toBe('no');
    expect(await can(`${RELEASE}-agent`, 'create', 'pods', NAMESPACE)).toBe('no');
    expect(await can(`${RELEASE}-controller`, 'get', 'secrets', NAMESPACE)).toBe('no');
    expect(await can(`${RELEASE}-relay`, 'list', 'wirekubepeers.wirekube.io')).toBe('no');
    expect(await can('default', 'list', 'wirekubepeers.wirekube.io')).toBe('no');
  }, 60_000);
  it('the relay-link DaemonSet runs the Go relay-link the agent image ships, one on every node', async () => {
    const goRelayLink = '/app/packages/agent/native/bin/wirekube-relay-link';
    const links = await pods('app.kubernetes.io/component=relay-link');
    expect(links.map((p) => p.spec.nodeName).sort()).toEqual([...NAMES].sort());
    for (const pod of links)
      expect(pod.spec.containers[0]?.command, pod.metadata.name).toEqual([goRelayLink]);
    // The process itself, in each node's network namespace (hostNetwork): the Go program, not node.
    for (const host of MESH_HOSTS) {
      const netns = lab.host(host.name).netns;
      const go = await pidsInNetns(netns, `${goRelayLink} relay-link`);
      expect(go, `${host.name}: one Go relay-link`).toHaveLength(1);
      expect(await pidsInNetns(netns, 'main.js relay-link'), `${host.name}: no Node relay-link`).toEqual([]);
    }
  }, 60_000);

  it('the relay Deployment runs the Go relay the relay image ships, and it is ready', async () => {
    const relays = await pods('app.kubernetes.io/component=relay');
    expect(relays.length).toBeGreaterThan(0);
    for (const pod of relays)
      expect(pod.spec.containers[0]?.command, pod.metadata.name).toEqual([
        '/app/packages/relay/native/bin/wirekube-relay',
      ]);
  }, 60_000);

  it('helm upgrade to a new agent image rolls the agents: 0 lost on a direct pair, relayed pairs resume within 2 s', async () => {
    const local = (await import('../src/registry/local-images.js')).localProgramImages;
    const { images } = await local();
    const tag = `${install.released.chartVersion}-upgrade.${process.pid}`;
    await retagWithLabel(images.agent, upgradeImage, `io.wirekube.lab.upgrade=${tag}`);
    await pushLocalImage(upgradeImage, lab.registry!.rootAddress, 'agent', tag);
    const wgBefore = (await pods('app.kubernetes.io/component=wireguard-go'))
      .map((p) => p.metadata.uid)
      .sort();
    const linksBefore = (await pods('app.kubernetes.io/component=relay-link'))
      .map((p) => p.metadata.uid)
      .sort();
    expect(linksBefore).toHaveLength(4);
    const agentsBefore = new Set(
      (await pods('app.kubernetes.io/component=agent')).map((p) => p.metadata.uid),
    );
    // Direct: pub ↔ cone1 (cone1's LAN address is reachable only through the tunnel). Relayed: sym → cone1.
    const direct = continuousPing(lab.host('pub'), lab.host('cone1').address, 0.01);
    const relayed = continuousPing(lab.host('sym'), lab.host('cone1').address, 0.05);
    await new Promise((r) => setTimeout(r, 2_000));
    const began = performance.now();
    await helmUpgrade(install, [`agent.image.tag=${tag}`]).catch((error) => {
      throw failure(error);
    });
    await waitRolledOut(lab, 'daemonset', `${RELEASE}-agent`, 300_000, 4).catch((error) => {
      throw failure(error);
    });
    const rolled = performance.now();
    // Time for the last agent's relay path to come back before the pings stop.
    await new Promise((r) => setTimeout(r, 5_000));
    const [d, r] = await Promise.all([direct.stop(), relayed.stop()]);
    const agentsAfter = await pods('app.kubernetes.io/component=agent');
    expect(agentsAfter.every((p) => !agentsBefore.has(p.metadata.uid))).toBe(true);
    expect(agentsAfter.every((p) => p.spec.containers[0]!.image.endsWith(`:${tag}`))).toBe(true);
    // wireguard-go (OnDelete) is untouched: the same pods, so the same TUN interfaces.
    expect(
      (await pods('app.kubernetes.io/component=wireguard-go')).map((p) => p.metadata.uid).sort(),
    ).toEqual(wgBefore);
    // So is the relay link (OnDelete): the relayed pairs' proxy sockets and relay connections never closed.
    expect((await pods('app.kubernetes.io/component=relay-link')).map((p) => p.metadata.uid).sort()).toEqual(
      linksBefore,
    );
    const directLost = lostOf(d.received, d.seqs);
    const gaps = gapsOf(r.replies, 0.05);
    const directGaps = gapsOf(d.replies, 0.01);
    notes.push(
      `upgrade: agents rolled in ${((rolled - began) / 1000).toFixed(1)} s; direct pub→cone1 every 10 ms: ` +
        `${d.sent} sent, ${d.seqs.length} replies seen, ${directLost} lost; relayed sym→cone1 every 50 ms: longest gap ` +
        `${Math.max(0, ...gaps).toFixed(2)} s, gaps > 0.3 s: [${gaps.map((g) => g.toFixed(2)).join(', ')}] ` +
        `(target ${RELAY_RESUME_TARGET_S} s: ${gaps.every((g) => g <= RELAY_RESUME_TARGET_S) ? 'met' : 'NOT met'}); ` +
        `direct gaps > 0.3 s: [${directGaps.map((g) => g.toFixed(2)).join(', ')}]`,
    );
    expect(d.seqs.length, d.output.slice(-500)).toBeGreaterThan(1000);
    expect(d.sent, d.output.slice(-500)).toBeGreaterThan(1000);
    expect(directLost, d.output.slice(-500)).toBe(0);
    expect(r.replies.length, r.output.slice(-500)).toBeGreaterThan(100);
    // Every outage of the relayed pair across the roll of all four agents is within the target.
    expect(
      gaps.filter((g) => g > RELAY_RESUME_TARGET_S),
      r.output.slice(-500),
    ).toEqual([]);
    await waitFor(() => pingOnce(lab.host('sym'), lab.host('cone1')), 10_000, 'the relayed pair to answer');
  }, 480_000);

  it('a node unlabelled and its WireKubePeer deleted: the cleanup job leaves no rule, route, interface or key', async () => {
    const node = lab.node('cone2');
    await labelNodes(lab, ['cone2'], false);
    await waitFor(
      async () =>
        (await pods()).every(
          (p) =>
            p.spec.nodeName !== 'cone2' || p.metadata.labels?.['app.kubernetes.io/component'] === undefined,
        ),
      120_000,
      'the agent and wireguard-go pods to leave cone2',
    );
    await lab.controlPlane!.kubectl(['delete', 'wirekubepeer', 'node-cone2']);
    // What the agent left on purpose (restarts keep the dataplane): rules, routes, keys.
    expect((await node.exec(['ip', 'rule'])).stdout).toContain('22347');
    expect(readdirSync(node.dirs.wirekube).length).toBeGreaterThan(0);
    const job = readFileSync(join(REPO_ROOT, 'config', 'cleanup', 'cleanup-job.yaml'), 'utf8')
      .replaceAll('TARGET_NODE_NAME', 'cone2')
      // The job's image is the chart's agent image; this cluster pulls it from the lab registry.
      .replace(
        /image: ghcr\.io\/wirekube\/agent:\S+/,
        `image: ${install.imageRegistry}/agent:${install.released.chartVersion}`,
      );
    await lab.controlPlane!.kubectl(['apply', '-f', '-'], { input: job });
    const done = await lab.controlPlane!.kubectl(
      ['wait', '-n', NAMESPACE, '--for=condition=complete', 'job/wirekube-cleanup-cone2', '--timeout=180s'],
      { allowFail: true },
    );
    if (done.code !== 0) throw failure(new Error(`cleanup job did not complete: ${done.stderr}`));
    const rules = (await node.exec(['ip', 'rule'])).stdout;
    expect(rules).not.toMatch(/22347|0x574b|lookup main.*\b198:/);
    expect(rules.split('\n').filter((l) => /^(19[89]|200):/.test(l))).toEqual([]);
    expect((await node.exec(['ip', 'route', 'show', 'table', '22347'])).stdout.trim()).toBe('');
    expect((await node.exec(['ip', 'link', 'show', 'wire_kube'], { allowFail: true })).code).not.toBe(0);
    const iptables = (
      await node.exec(['sh', '-c', 'iptables-save 2>/dev/null; iptables-legacy-save 2>/dev/null; true'])
    ).stdout;
    expect(iptables).not.toMatch(/wirekube/i);
    expect(readdirSync(node.dirs.wirekube)).toEqual([]);
    expect(readdirSync(node.dirs.wireguard).filter((f) => f.startsWith('wire_kube'))).toEqual([]);
    // The relay-link pod left with the label and took its socket with it.
    expect(readdirSync(node.dirs.wirekubeRun)).toEqual([]);
    // The rest of the mesh carries on without it.
    expect(await pingOnce(lab.host('pub'), lab.host('cone1'))).toBe(true);
    await lab.controlPlane!.kubectl([
      'delete',
      'job',
      '-n',
      NAMESPACE,
      'wirekube-cleanup-cone2',
      '--wait=true',
    ]);
  }, 300_000);

  it('helm uninstall leaves no object but the CRDs, and no pod', async () => {
    await install.helm(['uninstall', RELEASE, '--namespace', NAMESPACE, '--wait', '--timeout', '180s']);
    await waitFor(
      async () => (await pods()).length === 0,
      120_000,
      'every pod in wirekube-system to be gone',
    );
    const cp = lab.controlPlane!;
    const { stdout: kinds } = await cp.kubectl(['api-resources', '--verbs=list', '-o', 'name']);
    const listable = kinds
      .split('\n')
      .filter((k) => k && !/^(events|events\.events\.k8s\.io|componentstatuses)$/.test(k));
    const { stdout } = await cp.kubectl(
      ['get', listable.join(','), '-A', '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'name'],
      { allowFail: true },
    );
    expect(stdout.trim().split('\n').filter(Boolean)).toEqual([]);
    // Helm's policy: the CRDs stay (and with them what agents wrote, the WireKubePeers).
    const crds = (await cp.kubectl(['get', 'crd', '-o', 'name'])).stdout;
    for (const kind of ['wirekubepeers', 'wirekubemeshes', 'wirekubegateways']) expect(crds).toContain(kind);
    const secrets = (await cp.kubectl(['get', 'secrets', '-n', NAMESPACE, '-o', 'name'])).stdout;
    expect(secrets, 'no helm release secret left').not.toContain('sh.helm.release');
  }, 300_000);
});
