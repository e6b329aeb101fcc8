// One agent with 1,000 peers (BENCH_PEERS): WireKubePeer objects with fake keys in the real API server, the real
// agent against real wireguard-go. Figures, each against a floor measured in the same run:
// - plan time: the agent's plan() over the objects as the API server returns them (median of 15) vs a bare map;
// - first apply: agent started → 1,000 peers in wireguard-go, vs `wg setconf` of the same peers by hand;
// - no-op apply: one steady-state reconcile pass (the agent's own histogram) vs one `wg show dump` of the device;
// - agent RSS with 1,000 peers vs a bare node process;
// - bytes the agent wrote to the API server (its request bodies, from the API server's /metrics) vs the size of
//   the one object it owns.
// Mode never: fake peers never handshake, and relaying them is not what is measured here.
// Last line of output: one JSON report (lib/report.ts).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PlanInput, plan } from '@wirekube/agent';
import { resolveMeshSpec, type WireKubePeer } from '@wirekube/crd-types';
import { createLab, wgKeys } from '../src/index.js';
import { MeshFixture, waitFor } from '../src/mesh/fixture.js';
import { agentMetrics, metricValue, rssMiB } from './lib/agent-metrics.js';
import { apiServerMetrics, bodyBytesByResource, writesByResource } from './lib/apiserver.js';
import { delta, total } from './lib/prom.js';
import { emit, figure, progress, QUICK } from './lib/report.js';
import { median } from './lib/stats.js';

const BENCH = 'scale';
const PEERS = Number(process.env.BENCH_PEERS ?? 1000);
const STEADY_S = QUICK ? 10 : 30;

function fakePeer(i: number): WireKubePeer {
  return {
    apiVersion: 'wirekube.io/v1alpha1',
    kind: 'WireKubePeer',
    metadata: { name: `node-fake-${String(i).padStart(4, '0')}` },
    spec: {
      publicKey: randomBytes(32).toString('base64'),
      endpoint: `192.0.2.${(i % 250) + 1}:${20000 + i}`,
      allowedIPs: [`10.200.${i >> 8}.${i & 255}/32`],
      persistentKeepalive: 25,
    },
  };
}

function timeMs(fn: () => unknown): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const lab = await createLab({
  hosts: [
    { name: 'scale', nat: 'none' },
    { name: 'ref', nat: 'none' },
  ],
  stun: true,
  controlPlane: true,
});
const stateDir = mkdtempSync(join(tmpdir(), 'wk-scale-'));
try {
  const cp = lab.controlPlane!;
  const mesh = new MeshFixture(lab, stateDir);
  const [host, ref] = [lab.host('scale'), lab.host('ref')];
  await mesh.createMesh({ relay: { mode: 'never' } });
  const fakes = Array.from({ length: PEERS }, (_, i) => fakePeer(i));
  const createStart = Date.now();
  // 100 objects per kubectl call: one huge List is slower to validate than a few in a row.
  for (let i = 0; i < fakes.length; i += 100) {
    await cp.kubectl(['create', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: fakes.slice(i, i + 100) }),
    });
  }
  progress(BENCH, `${PEERS} WireKubePeers created in ${Date.now() - createStart} ms`);
  await mesh.registerNodes([host]);

  const before = await apiServerMetrics(lab);
  const started = Date.now();
  const agent = mesh.startAgent(host);
  const countPeers = async () =>
    (await host.exec(['wg', 'show', 'wire_kube', 'peers'], { allowFail: true })).stdout
      .split('\n')
      .filter(Boolean).length;
  await waitFor(async () => (await countPeers()) >= PEERS, 300_000, `${PEERS} peers in wireguard-go`);
  const firstApplyMs = Date.now() - started;
  progress(BENCH, `first apply: ${firstApplyMs} ms`);
  await mesh.waitStarted(agent, 60_000);

  // Steady state: every pass reads the device, plans, finds nothing to change.
  await new Promise((r) => setTimeout(r, 10_000));
  const m0 = await agentMetrics(host);
  await new Promise((r) => setTimeout(r, STEADY_S * 1000));
  const m1 = await agentMetrics(host);
  const passes =
    metricValue(m1, 'wirekube_reconcile_duration_seconds_count') -
    metricValue(m0, 'wirekube_reconcile_duration_seconds_count');
  const noopMs =
    ((metricValue(m1, 'wirekube_reconcile_duration_seconds_sum') -
      metricValue(m0, 'wirekube_reconcile_duration_seconds_sum')) *
      1000) /
    Math.max(passes, 1);
  const rss = rssMiB(agent.process.pid);
  const after = await apiServerMetrics(lab);
  // Leases are the API server's own identity lease (renewed every 10 s); the agent writes none here.
  const notLeases = (m: Map<string, number>) => new Map([...m].filter(([k]) => !k.startsWith('leases/')));
  const bytes = notLeases(delta(bodyBytesByResource(before), bodyBytesByResource(after)));
  const writes = notLeases(delta(writesByResource(before), writesByResource(after)));
  const own = await cp.kubectl(['get', 'wirekubepeer', `node-${host.name}`, '-o', 'json']);
  const ownBytes = Buffer.byteLength(JSON.stringify(JSON.parse(own.stdout)));
  progress(BENCH, `no-op pass ${noopMs.toFixed(1)} ms over ${passes} passes; RSS ${rss.toFixed(0)} MiB`);

  // Floors on a second host: wireguard-go given the same peers by hand, and one read of the device.
  const refKeys = await wgKeys(ref);
  await ref.wireguardGo('wg0');
  const conf = [
    `[Interface]\nPrivateKey = ${refKeys.privateKey}\nListenPort = 51820\n`,
    ...fakes.map(
      (p) =>
        `[Peer]\nPublicKey = ${p.spec.publicKey}\nEndpoint = ${p.spec.endpoint}\nAllowedIPs = ${p.spec.allowedIPs?.join(',')}\nPersistentKeepalive = 25\n`,
    ),
  ].join('\n');
  await ref.exec(['sh', '-c', 'cat > /tmp/wk-scale.conf'], { input: conf });
  const setconfStart = Date.now();
  await ref.exec(['wg', 'setconf', 'wg0', '/tmp/wk-scale.conf']);
  const setconfMs = Date.now() - setconfStart;
  await ref.exec(['rm', '-f', '/tmp/wk-scale.conf']);
  const dumpMs: number[] = [];
  for (let i = 0; i < 9; i++) {
    const t = Date.now();
    await host.exec(['wg', 'show', 'wire_kube', 'dump']);
    dumpMs.push(Date.now() - t);
  }
  const bare = ref.spawn(['node', '-e', 'setInterval(() => {}, 1 << 30)']);
  await new Promise((r) => setTimeout(r, 1_500));
  const bareRss = rssMiB(bare.pid);
  await bare.stop();

  // plan() over what the API server holds, as the agent's cache would hand it over.
  const { stdout } = await cp.kubectl(['get', 'wirekubepeers', '-o', 'json']);
  const peers = (JSON.parse(stdout) as { items: WireKubePeer[] }).items;
  const input: PlanInput = {
    nodeName: host.name,
    mesh: resolveMeshSpec({ stunServers: [...lab.stunServers] }),
    privateKey: refKeys.privateKey,
    publicKey: refKeys.publicKey,
    peers,
    observed: new Map(),
    publicIP: host.address,
    protectedAddresses: ['198.51.100.20'],
    nowMs: Date.now(),
  };
  const bareMap = () =>
    peers.map((p) => ({
      publicKey: p.spec.publicKey,
      endpoint: p.spec.endpoint,
      allowedIPs: p.spec.allowedIPs,
    }));
  for (let i = 0; i < 3; i++) {
    plan(input);
    bareMap();
  }
  const planMs: number[] = [];
  const mapMs: number[] = [];
  for (let i = 0; i < 15; i++) {
    mapMs.push(timeMs(bareMap));
    planMs.push(timeMs(() => plan(input)));
  }

  emit({
    bench: BENCH,
    quick: QUICK,
    figures: [
      figure({
        name: 'scale.plan',
        value: median(planMs),
        unit: 'ms',
        baseline: { what: 'a bare map over the same objects', value: median(mapMs) },
        target: { on: 'value', op: '<=', value: 50, source: 'issue 6 (plan 1,000 peers ≤ 50 ms)' },
        samples: planMs,
        note: `${peers.length} WireKubePeers as the real API server returns them`,
      }),
      figure({
        name: 'scale.first-apply',
        value: firstApplyMs,
        unit: 'ms',
        baseline: { what: 'wg setconf of the same peers into wireguard-go', value: setconfMs },
        note: 'agent process started → every peer in wireguard-go (includes node start, informer list, STUN)',
      }),
      figure({
        name: 'scale.noop-apply',
        value: noopMs,
        unit: 'ms',
        baseline: { what: 'one wg show dump of the same device', value: median(dumpMs) },
        note: `steady-state reconcile pass (read + plan + apply + status), mean of ${passes} passes over ${STEADY_S} s`,
      }),
      figure({
        name: 'scale.agent-rss',
        value: rss,
        unit: 'MiB',
        baseline: { what: 'a bare node process', value: bareRss },
      }),
      figure({
        name: 'scale.api-bytes-written',
        value: total(bytes),
        unit: 'B',
        baseline: { what: "the agent's own WireKubePeer as JSON", value: ownBytes },
        note: `request bodies from agent start to end of steady state; writes ${JSON.stringify(Object.fromEntries(writes))}`,
      }),
    ],
    details: {
      peers: PEERS,
      apiWrites: Object.fromEntries(writes),
      apiBodyBytes: Object.fromEntries(bytes),
      reconcilePasses: passes,
    },
  });
  await mesh.stopAll();
} finally {
  await lab.destroy();
  rmSync(stateDir, { recursive: true, force: true });
}
