// Relayed vs direct between the same two lab hosts (cone1, cone2, real agents and the project's relay program):
// iperf3 throughput ratio relayed/direct (target ≥ 0.8), CPU per GB moved in the relay and in the agent that
// hosts the UDP proxy, and ping p50 relayed vs direct (target ≤ 2×). Runs alternate direct and relayed
// (mode never / always on the running mesh); medians over BENCH_RUNS. Last line of output: one JSON object.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLab, type LabHost } from '../src/index.js';
import { MeshFixture, waitFor } from '../src/mesh/fixture.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const RELAY_MAIN = fileURLToPath(new URL('../../packages/relay/dist/main.js', import.meta.url));
const TICKS_PER_SECOND = 100;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

/** User+system CPU milliseconds of a process so far (/proc/<pid>/stat utime+stime). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

const lab = await createLab({
  hosts: [
    { name: 'relay', nat: 'none' },
    { name: 'cone1', nat: 'cone', lan: 'lan1' },
    { name: 'cone2', nat: 'cone', lan: 'lan2' },
  ],
  stun: true,
  controlPlane: true,
});
const stateDir = mkdtempSync(join(tmpdir(), 'wk-relay-bench-'));
try {
  await Promise.all(lab.hosts.map((h) => h.exec(['ip', 'link', 'set', 'lo', 'up'])));
  const relay = lab.host('relay').spawn(['node', RELAY_MAIN, '--port', '3478', '--http-port', '9090']);
  const mesh = new MeshFixture(lab, stateDir);
  const relaySpec = (mode: 'never' | 'always') => ({
    mode,
    provider: 'external',
    external: { endpoint: `${lab.host('relay').address}:3478` },
  });
  await mesh.createMesh({ relay: relaySpec('never') });
  const [a, b] = [lab.host('cone1'), lab.host('cone2')];
  await mesh.registerNodes([a, b]);
  const agentA = mesh.startAgent(a);
  mesh.startAgent(b);
  await Promise.all([...mesh.agents.values()].map((x) => mesh.waitStarted(x, 60_000)));
  const server = b.spawn(['iperf3', '-s', '-B', b.address]);

  const endpointOnLoopback = async (from: LabHost) => {
    const { stdout } = await from.exec(['wg', 'show', 'wire_kube', 'endpoints']);
    return stdout.includes('127.0.0.1:');
  };
  const setMode = async (mode: 'never' | 'always') => {
    await mesh.createMesh({ relay: relaySpec(mode) });
    await waitFor(
      async () =>
        (await endpointOnLoopback(a)) === (mode === 'always') &&
        (await endpointOnLoopback(b)) === (mode === 'always') &&
        (await mesh.ping(a, b.address, { count: 1 })).loss === 0,
      60_000,
      `both sides ${mode === 'always' ? 'relayed' : 'direct'}`,
    );
  };
  const measure = async () => {
    const cpuBefore = { relay: cpuMs(relay.pid), agent: cpuMs(agentA.process.pid) };
    const { stdout } = await a.exec(['iperf3', '-c', b.address, '-t', String(SECONDS), '-J'], {
      timeoutMs: (SECONDS + 20) * 1000,
    });
    const cpu = {
      relay: cpuMs(relay.pid) - cpuBefore.relay,
      agent: cpuMs(agentA.process.pid) - cpuBefore.agent,
    };
    const report = JSON.parse(stdout) as {
      end: { sum_received: { bits_per_second: number; bytes: number } };
    };
    const { stdout: pingOut } = await a.exec(['ping', '-n', '-c', '50', '-i', '0.02', b.address]);
    const rtts = [...pingOut.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
    const gb = report.end.sum_received.bytes / 1e9;
    return {
      mbps: report.end.sum_received.bits_per_second / 1e6,
      relayCpuMsPerGB: cpu.relay / gb,
      agentCpuMsPerGB: cpu.agent / gb,
      pingP50Ms: median(rtts),
    };
  };

  const direct: Array<Awaited<ReturnType<typeof measure>>> = [];
  const relayed: Array<Awaited<ReturnType<typeof measure>>> = [];
  for (let run = 0; run < RUNS; run++) {
    // Alternate which path goes first, so drift in the machine's load hits both alike.
    for (const mode of run % 2 === 0 ? (['never', 'always'] as const) : (['always', 'never'] as const)) {
      await setMode(mode);
      const m = await measure();
      (mode === 'never' ? direct : relayed).push(m);
      process.stderr.write(
        `run ${run + 1}/${RUNS} ${mode === 'never' ? 'direct' : 'relayed'}: ${JSON.stringify(m)}\n`,
      );
    }
  }
  const ratios = direct.map((d, i) => (relayed[i]?.mbps ?? 0) / d.mbps);
  const pingRatios = direct.map((d, i) => (relayed[i]?.pingP50Ms ?? 0) / d.pingP50Ms);
  await server.stop();
  const round = (n: number, digits = 2) => Number(n.toFixed(digits));
  console.log(
    JSON.stringify({
      bench: 'relay-path',
      runs: RUNS,
      secondsPerRun: SECONDS,
      directMbps: round(median(direct.map((d) => d.mbps)), 1),
      relayedMbps: round(median(relayed.map((d) => d.mbps)), 1),
      throughputRatio: round(median(ratios)),
      throughputTarget: 0.8,
      relayCpuMsPerGB: round(median(relayed.map((d) => d.relayCpuMsPerGB)), 0),
      proxyAgentCpuMsPerGB: round(median(relayed.map((d) => d.agentCpuMsPerGB)), 0),
      directAgentCpuMsPerGB: round(median(direct.map((d) => d.agentCpuMsPerGB)), 0),
      directPingP50Ms: round(median(direct.map((d) => d.pingP50Ms)), 3),
      relayedPingP50Ms: round(median(relayed.map((d) => d.pingP50Ms)), 3),
      pingP50Ratio: round(median(pingRatios)),
      pingTarget: 2,
    }),
  );
  await mesh.stopAll();
  await relay.stop();
} finally {
  await lab.destroy();
  rmSync(stateDir, { recursive: true, force: true });
}
