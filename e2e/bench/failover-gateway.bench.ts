// Gateway failover (issue 12's VPC-B, real agents, a real controller): a subnet behind b1 and b2, SNAT on, a1
// pings into it every 100 ms; the active gateway's link into the subnet is pulled (its health probe fails) and
// the longest gap without a reply is measured until the standby carries the traffic. Runs alternate which
// gateway fails (no preemption: the other one is active by then). Baseline: the longest gap of the same ping
// with nothing failing. Target: intervalSeconds × failureThreshold + 2 s (issue 12).
// Last line of output: one JSON report (lib/report.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WireKubeGateway } from '@wirekube/crd-types';
import { createLab, type LabProcess } from '../src/index.js';
import { MeshFixture, waitFor } from '../src/mesh/fixture.js';
import { longestGapMs, ping, pingAround } from './lib/ping.js';
import { emit, figure, progress, QUICK } from './lib/report.js';
import { median } from './lib/stats.js';
import { createVpcSubnet, SUBNET_TARGET, type VpcSubnet } from './lib/vpc-subnet.js';

const BENCH = 'failover-gateway';
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 3));
const CONTROLLER_MAIN = fileURLToPath(new URL('../../packages/controller/dist/main.js', import.meta.url));
const INTERVAL_S = 5;
const THRESHOLD = 1;
const GATEWAY = 'vpc-b';

const lab = await createLab({
  hosts: [
    { name: 'a1', nat: 'none' },
    { name: 'b1', nat: 'none' },
    { name: 'b2', nat: 'none' },
  ],
  stun: true,
  controlPlane: true,
});
const stateDir = mkdtempSync(join(tmpdir(), 'wk-gw-bench-'));
let subnet: VpcSubnet | undefined;
let controller: LabProcess | undefined;
const mesh = new MeshFixture(lab, stateDir);
try {
  const cp = lab.controlPlane!;
  const [a1, b1, b2] = [lab.host('a1'), lab.host('b1'), lab.host('b2')];
  subnet = await createVpcSubnet(lab, [b1, b2], a1);
  await cp.kubectl(['create', 'namespace', 'wirekube-system']);
  await mesh.createMesh();
  await mesh.registerNodes();
  for (const host of lab.hosts) mesh.startAgent(host, { args: ['--namespace', 'wirekube-system'] });
  await Promise.all([...mesh.agents.values()].map((a) => mesh.waitStarted(a, 120_000)));
  controller = a1.spawn([
    'node',
    CONTROLLER_MAIN,
    '--kubeconfig',
    cp.hostKubeconfigPath,
    '--namespace',
    'wirekube-system',
    '--identity',
    'ctl-1',
    '--metrics-port',
    '9544',
  ]);
  const body = {
    apiVersion: 'wirekube.io/v1alpha1',
    kind: 'WireKubeGateway',
    metadata: { name: GATEWAY },
    spec: {
      peerRefs: ['node-b1', 'node-b2'],
      routes: [{ cidr: '172.20.0.0/16', description: 'VPC-B subnet' }],
      snat: { enabled: true },
      healthCheck: {
        enabled: true,
        target: `${SUBNET_TARGET}:443`,
        intervalSeconds: INTERVAL_S,
        timeoutSeconds: 1,
        failureThreshold: THRESHOLD,
      },
    },
  };
  await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(body) });
  const status = async () =>
    (JSON.parse((await cp.kubectl(['get', 'wkgw', GATEWAY, '-o', 'json'])).stdout) as WireKubeGateway).status;
  const reaches = async () => (await mesh.ping(a1, SUBNET_TARGET, { count: 1, waitS: 1 })).loss === 0;
  await waitFor(
    async () => (await status())?.activePeer === 'node-b1' && (await reaches()),
    120_000,
    'b1 active',
  );

  const gaps: number[] = [];
  const quiet: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const active = (await status())?.activePeer === 'node-b1' ? b1 : b2;
    const standby = active === b1 ? b2 : b1;
    const q = await ping(a1, SUBNET_TARGET, { count: 50, intervalS: 0.1 });
    quiet.push(longestGapMs(q, q.stampsMs[0] ?? 0, q.stampsMs.at(-1) ?? 0));
    const {
      run: p,
      actionMs,
      endMs,
    } = await pingAround(
      a1,
      SUBNET_TARGET,
      20,
      0.1,
      async () => {
        await subnet!.setLink(active, false);
        await waitFor(
          async () => (await status())?.activePeer === `node-${standby.name}`,
          30_000,
          `${standby.name} active`,
        );
      },
      2,
    );
    gaps.push(longestGapMs(p, actionMs, endMs));
    progress(BENCH, `run ${run + 1}/${RUNS}: ${active.name} lost → ${standby.name}: gap ${gaps.at(-1)} ms`);
    await subnet.setLink(active, true);
    await waitFor(
      async () => (await status())?.peerHealth?.[`node-${active.name}`] === 'healthy',
      30_000,
      `${active.name} healthy again`,
    );
  }
  emit({
    bench: BENCH,
    quick: QUICK,
    figures: [
      figure({
        name: 'failover.gateway-to-standby',
        value: median(gaps) / 1000,
        unit: 's',
        baseline: {
          what: 'longest gap of the same 100 ms ping, nothing failing',
          value: median(quiet) / 1000,
        },
        target: {
          on: 'value',
          op: '<=',
          value: INTERVAL_S * THRESHOLD + 2,
          source: 'issue 12 (intervalSeconds × failureThreshold + 2 s)',
        },
        samples: gaps.map((g) => g / 1000),
        note: `a1 → 172.20.1.254 every 100 ms, active gateway's subnet link down, intervalSeconds ${INTERVAL_S}, failureThreshold ${THRESHOLD}, SNAT on, ${RUNS} runs`,
      }),
    ],
  });
} finally {
  await controller?.stop(3_000).catch(() => undefined);
  await mesh.stopAll().catch(() => undefined);
  await subnet?.destroy();
  await lab.destroy();
  rmSync(stateDir, { recursive: true, force: true });
}
