// Relayed vs direct between the same two lab hosts (cone1, cone2, real agents and the project's relay program):
// iperf3 throughput ratio relayed/direct (target ≥ 0.8), CPU per GB moved in the relay and in the Node processes
// of the two hosts (the agents and whichever of them hosts the UDP proxy: the agent or its relay-link process),
// and ping p50 relayed vs direct (target ≤ 2×). Runs alternate direct and relayed (mode never / always on the
// running mesh); medians over BENCH_RUNS (default 5). Last line of output: one JSON object.
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLab, type LabHost } from '../src/index.js';
import { MeshFixture, waitFor } from '../src/mesh/fixture.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
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

/** System (kernel) CPU milliseconds of a process so far: syscalls and the network stack they run. */
function systemCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[12]) * 1000) / TICKS_PER_SECOND;
}

/** PIDs in a lab host's network namespace whose program matches `isProgram` (/proc/<pid>/exe). */
function pidsInHost(host: LabHost, isProgram: (exe: string, comm: string) => boolean): number[] {
  const netns = `net:[${statSync(`/run/netns/${host.netns}`).ino}]`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/net`) !== netns) continue;
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (isProgram(readlinkSync(`/proc/${entry}/exe`), comm)) pids.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return pids;
}

/** The wireguard-go daemons of a host (the agent starts its own). */
const wireguardGoPids = (host: LabHost) => pidsInHost(host, (_exe, comm) => comm === 'wireguard-go');

/** Every Node process of a host: the agent and whatever else of ours hosts the UDP proxy (the relay-link process
 * the agent starts, once the proxy moves out of it). Looked up at each measurement, since the agent may start it
 * late or restart it. The relay runs in its own host, so it is never among them. */
const nodePids = (host: LabHost) =>
  pidsInHost(host, (exe) => basename(exe) === basename(process.execPath) || basename(exe) === 'node');

/** Summed CPU ms of several processes (0 for any that is gone). */
function cpuMsOf(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      total += cpuMs(pid);
    } catch {
      // Gone: it contributes nothing from here on.
    }
  }
  return total;
}

/** Summed system CPU ms of several processes (0 for any that is gone). */
function systemCpuMsOf(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      total += systemCpuMs(pid);
    } catch {
      // Gone: it contributes nothing from here on.
    }
  }
  return total;
}

/** UDP receive-buffer overflows in a host's network namespace (/proc/net/snmp, Udp RcvbufErrors). */
async function udpRcvbufErrors(host: LabHost): Promise<number> {
  const { stdout } = await host.exec(['cat', '/proc/net/snmp']);
  const lines = stdout.split('\n').filter((line) => line.startsWith('Udp:'));
  const names = (lines[0] ?? '').split(/\s+/);
  const values = (lines[1] ?? '').split(/\s+/);
  return Number(values[names.indexOf('RcvbufErrors')] ?? 0);
}

/** UDP datagrams dropped so far per program in a host (`ss -uanpm`: the skmem `d` of each socket, by owner). */
async function udpDropsByProgram(host: LabHost): Promise<Record<string, number>> {
  const { stdout } = await host.exec(['ss', '-uanpm']);
  const drops: Record<string, number> = {};
  let owner = '';
  for (const line of stdout.split('\n')) {
    const program = /users:\(\("([^"]+)"/.exec(line);
    if (program) owner = program[1]!;
    const skmem = /skmem:\([^)]*\bd(\d+)\)/.exec(line);
    if (skmem) drops[owner || '?'] = (drops[owner || '?'] ?? 0) + Number(skmem[1]);
  }
  return drops;
}

const diff = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
      .filter(([, v]) => v > 0),
  );

const loadAtStart = loadavg()[0] ?? 0;
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
  mesh.startAgent(a);
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
    const wgPids = [...wireguardGoPids(a), ...wireguardGoPids(b)];
    const proxyPids = [...nodePids(a), ...nodePids(b)].filter((pid) => pid !== relay.pid);
    const cpuOf = () => ({
      relay: cpuMs(relay.pid),
      agents: cpuMsOf(proxyPids),
      agentsSystem: systemCpuMsOf(proxyPids),
      wireguardGo: cpuMsOf(wgPids),
    });
    const rcvbufBefore = [await udpRcvbufErrors(a), await udpRcvbufErrors(b)];
    const dropsBefore = [await udpDropsByProgram(a), await udpDropsByProgram(b)];
    const cpuBefore = cpuOf();
    const { stdout } = await a.exec(['iperf3', '-c', b.address, '-t', String(SECONDS), '-J'], {
      timeoutMs: (SECONDS + 20) * 1000,
    });
    const cpuAfter = cpuOf();
    const rcvbufSender = (await udpRcvbufErrors(a)) - rcvbufBefore[0]!;
    const rcvbufReceiver = (await udpRcvbufErrors(b)) - rcvbufBefore[1]!;
    // Which socket overflowed: WireGuard's (wireguard-go) or a proxy's (node).
    const dropsBy = {
      sender: diff(await udpDropsByProgram(a), dropsBefore[0]!),
      receiver: diff(await udpDropsByProgram(b), dropsBefore[1]!),
    };
    const report = JSON.parse(stdout) as {
      end: {
        sum_received: { bits_per_second: number; bytes: number };
        sum_sent: { retransmits?: number; bytes: number };
      };
    };
    const { stdout: pingOut } = await a.exec(['ping', '-n', '-c', '50', '-i', '0.02', b.address]);
    const rtts = [...pingOut.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
    const gb = report.end.sum_received.bytes / 1e9;
    const perGB = (key: keyof ReturnType<typeof cpuOf>) => (cpuAfter[key] - cpuBefore[key]) / gb;
    return {
      mbps: report.end.sum_received.bits_per_second / 1e6,
      // Both hosts' Node processes: the sender's proxy reads UDP and writes TCP, the receiver's reads TCP and
      // writes UDP.
      relayCpuMsPerGB: perGB('relay'),
      agentsCpuMsPerGB: perGB('agents'),
      agentsSystemCpuMsPerGB: perGB('agentsSystem'),
      wireguardGoCpuMsPerGB: perGB('wireguardGo'),
      // Inner TCP segments iperf3 had to resend: loss (or reordering) anywhere on the path.
      retransmits: report.end.sum_sent.retransmits ?? 0,
      retransmitsPerMB: (report.end.sum_sent.retransmits ?? 0) / (report.end.sum_sent.bytes / 1e6),
      // Datagrams the kernel dropped because a UDP socket (WireGuard's or a proxy's) was full.
      udpRcvbufErrors: rcvbufSender + rcvbufReceiver,
      udpRcvbufErrorsSender: rcvbufSender,
      udpDropsBy: dropsBy,
      pingP50Ms: median(rtts),
      // How many Node processes the proxy CPU above sums (agents, plus relay-link processes once they exist).
      proxyProcesses: proxyPids.length,
      load1: loadavg()[0] ?? 0,
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
  const round = (n: number, digits = 2) => Number(n.toFixed(digits));
  const loads = [...direct, ...relayed].map((r) => r.load1);
  const ratios = direct.map((d, i) => (relayed[i]?.mbps ?? 0) / d.mbps);
  const pingRatios = direct.map((d, i) => (relayed[i]?.pingP50Ms ?? 0) / d.pingP50Ms);
  await server.stop();
  type Run = (typeof direct)[number];
  type NumericKey = { [K in keyof Run]: Run[K] extends number ? K : never }[keyof Run];
  const pick = (runs: Run[], key: NumericKey, digits = 0) => round(median(runs.map((r) => r[key])), digits);
  /** Drops per side and program, summed over the runs. */
  const dropsOf = (runs: Run[]) => {
    const sum: Record<string, number> = {};
    for (const r of runs)
      for (const [side, by] of Object.entries(r.udpDropsBy))
        for (const [program, n] of Object.entries(by))
          sum[`${side}:${program}`] = (sum[`${side}:${program}`] ?? 0) + n;
    return sum;
  };
  console.log(
    JSON.stringify({
      bench: 'relay-path',
      runs: RUNS,
      secondsPerRun: SECONDS,
      load1: {
        start: round(loadAtStart, 1),
        min: round(Math.min(...loads), 1),
        max: round(Math.max(...loads), 1),
      },
      directMbps: pick(direct, 'mbps', 1),
      relayedMbps: pick(relayed, 'mbps', 1),
      throughputRatio: round(median(ratios)),
      throughputRatios: ratios.map((r) => round(r)),
      throughputTarget: 0.8,
      relayCpuMsPerGB: pick(relayed, 'relayCpuMsPerGB'),
      proxyAgentsCpuMsPerGB: pick(relayed, 'agentsCpuMsPerGB'),
      proxyAgentsSystemCpuMsPerGB: pick(relayed, 'agentsSystemCpuMsPerGB'),
      proxyProcesses: pick(relayed, 'proxyProcesses'),
      directAgentsCpuMsPerGB: pick(direct, 'agentsCpuMsPerGB'),
      relayedWireguardGoCpuMsPerGB: pick(relayed, 'wireguardGoCpuMsPerGB'),
      directWireguardGoCpuMsPerGB: pick(direct, 'wireguardGoCpuMsPerGB'),
      relayedRetransmitsPerMB: pick(relayed, 'retransmitsPerMB', 2),
      directRetransmitsPerMB: pick(direct, 'retransmitsPerMB', 2),
      relayedUdpRcvbufErrors: pick(relayed, 'udpRcvbufErrors'),
      relayedUdpRcvbufErrorsSenderSide: pick(relayed, 'udpRcvbufErrorsSender'),
      directUdpRcvbufErrors: pick(direct, 'udpRcvbufErrors'),
      relayedUdpDropsByProgram: dropsOf(relayed),
      directUdpDropsByProgram: dropsOf(direct),
      directPingP50Ms: pick(direct, 'pingP50Ms', 3),
      relayedPingP50Ms: pick(relayed, 'pingP50Ms', 3),
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
