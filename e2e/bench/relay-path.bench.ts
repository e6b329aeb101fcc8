// Relayed vs direct between the same two lab hosts (cone1, cone2, real agents and the project's relay program):
// iperf3 throughput ratio relayed/direct (target ≥ 0.8), CPU per GB moved in the relay and in the two hosts'
// agents and relay-link processes (which hold the UDP proxy and the relay connection), and ping p50 relayed vs direct (target ≤ 2×). Runs alternate direct and relayed (mode never / always on the
// running mesh); medians over BENCH_RUNS (default 5). Last line of output: one JSON object.
//
// Relay-link implementations: BENCH_RELAY_LINKS lists them, `name=path` for a Go relay-link binary and `node`
// for the agent's own; each run measures the relayed path once per implementation (the order rotates per run),
// so every implementation is compared with the same runs' direct path. The bench starts the relay-link itself
// and the agents adopt it (as after an upgrade). The top-level figures are the first implementation's; every
// implementation's are under `relayLinks`.
//
// Relay programs: BENCH_RELAYS lists them (`go`, `node`; default both when the Go relay is built), each listening
// on its own port of the relay host from the start; the mesh's relay endpoint moves between them. The first
// relay-link is measured through every relay, the others through the first relay: `relays` holds each relay's
// figures with the first relay-link. BENCH_RELAY_COMMAND replaces them all by one other program.
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLab, type LabHost, type LabProcess } from '../src/index.js';
import { MeshFixture, waitFor } from '../src/mesh/fixture.js';
import { GO_RELAY, type RelayImplementation, relayCommand } from '../src/relay-program.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const AGENT_MAIN = fileURLToPath(new URL('../../packages/agent/dist/main.js', import.meta.url));

interface RelayLinkImplementation {
  name: string;
  /** argv before `relay-link --socket …`. */
  command: readonly string[];
}

/** The Go relay-link the agent's build ships (packages/agent, target build-native), which spawn mode starts. */
const SHIPPED_GO_RELAY_LINK = fileURLToPath(
  new URL('../../packages/agent/native/bin/wirekube-relay-link', import.meta.url),
);

/** BENCH_RELAY_LINKS (`go=/path/to/wirekube-relay-link,node`); default: the Go one (WIREKUBE_RELAY_LINK_BINARY,
 * else the shipped build), then the Node one for comparison. */
function relayLinkImplementations(): RelayLinkImplementation[] {
  const goBinary = process.env.WIREKUBE_RELAY_LINK_BINARY ?? SHIPPED_GO_RELAY_LINK;
  const configured =
    process.env.BENCH_RELAY_LINKS ??
    (goBinary !== 'node' && existsSync(goBinary) ? `go=${goBinary},node` : 'node');
  return configured.split(',').map((entry) => {
    if (entry === 'node') return { name: 'node', command: ['node', AGENT_MAIN] };
    const [name, path] = entry.split('=');
    if (!name || !path) throw new Error(`BENCH_RELAY_LINKS: "${entry}" is neither node nor name=path`);
    if (!existsSync(path))
      throw new Error(`BENCH_RELAY_LINKS: ${path} does not exist (npx nx run-many -t build)`);
    return { name, command: [path] };
  });
}
const IMPLEMENTATIONS = relayLinkImplementations();

interface RelayProgram {
  name: string;
  port: number;
  /** argv; `{address}` is the relay host's address. */
  command: readonly string[];
}

/** BENCH_RELAY_COMMAND (one program, argv split on spaces, port 3478), else BENCH_RELAYS (`go,node`). */
function relayPrograms(): RelayProgram[] {
  const custom = process.env.BENCH_RELAY_COMMAND;
  if (custom) return [{ name: 'custom', port: 3478, command: custom.split(' ') }];
  const configured = process.env.BENCH_RELAYS ?? (existsSync(GO_RELAY) ? 'go,node' : 'node');
  return configured.split(',').map((name, i) => {
    if (name !== 'go' && name !== 'node') throw new Error(`BENCH_RELAYS: "${name}" is neither go nor node`);
    const port = 3478 + i;
    return {
      name,
      port,
      command: relayCommand(
        ['--port', String(port), '--http-port', String(9090 + i)],
        name as RelayImplementation,
      ),
    };
  });
}
const RELAYS = relayPrograms();

/** What one relayed measurement runs through. */
interface Variant {
  link: RelayLinkImplementation;
  relay: RelayProgram;
}
const VARIANTS: Variant[] = [
  ...IMPLEMENTATIONS.map((link) => ({ link, relay: RELAYS[0]! })),
  ...RELAYS.slice(1).map((relay) => ({ link: IMPLEMENTATIONS[0]!, relay })),
];
const variantName = (v: Variant) => `${v.link.name} relay-link, ${v.relay.name} relay`;
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

/** The Node processes of a host: its agent (and a Node relay-link). Looked up at each measurement; the
 * relay-links this bench starts are added by PID whatever their program. The relay runs in its own host, so it
 * is never among them. */
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
  const relayHost = lab.host('relay');
  const relays = new Map<string, LabProcess>(
    RELAYS.map((r) => [
      r.name,
      relayHost.spawn(r.command.map((arg) => arg.replaceAll('{address}', relayHost.address))),
    ]),
  );
  let relayInUse = RELAYS[0]!;
  const mesh = new MeshFixture(lab, stateDir);
  const relaySpec = (mode: 'never' | 'always') => ({
    mode,
    provider: 'external',
    external: { endpoint: `${relayHost.address}:${relayInUse.port}` },
  });
  /** The agents' established connections to each relay port. */
  const relayConnections = async (port: number) => {
    const { stdout } = await relayHost.exec(['ss', '-Htn', 'state', 'established', `( sport = :${port} )`]);
    return stdout.split('\n').filter((line) => line.trim() !== '').length;
  };
  await mesh.createMesh({ relay: relaySpec('never') });
  const [a, b] = [lab.host('cone1'), lab.host('cone2')];
  await mesh.registerNodes([a, b]);
  // The relay-links this bench started, per host; an agent finds one answering on its socket and adopts it.
  const relayLinks = new Map<string, LabProcess>();
  let running = '';
  const useRelayLink = async (implementation: RelayLinkImplementation) => {
    if (running === implementation.name) return;
    await mesh.stopAll();
    for (const [name, link] of relayLinks) {
      await link.stop(5_000);
      relayLinks.delete(name);
    }
    for (const host of [a, b]) {
      const socket = mesh.relayLinkSocketOf(host);
      rmSync(socket, { force: true });
      const link = host.spawn([
        ...implementation.command,
        'relay-link',
        '--socket',
        socket,
        '--log-level',
        'warn',
      ]);
      relayLinks.set(host.name, link);
      await waitFor(
        () => existsSync(socket),
        30_000,
        `${implementation.name} relay-link socket on ${host.name}`,
      );
    }
    mesh.startAgent(a);
    mesh.startAgent(b);
    await Promise.all([...mesh.agents.values()].map((x) => mesh.waitStarted(x, 60_000)));
    running = implementation.name;
  };
  await useRelayLink(IMPLEMENTATIONS[0]!);
  const server = b.spawn(['iperf3', '-s', '-B', b.address]);

  const endpointOnLoopback = async (from: LabHost) => {
    const { stdout } = await from.exec(['wg', 'show', 'wire_kube', 'endpoints']);
    return stdout.includes('127.0.0.1:');
  };
  const setMode = async (mode: 'never' | 'always', relay = relayInUse) => {
    relayInUse = relay;
    await mesh.createMesh({ relay: relaySpec(mode) });
    await waitFor(
      async () =>
        (await endpointOnLoopback(a)) === (mode === 'always') &&
        (await endpointOnLoopback(b)) === (mode === 'always') &&
        // Relayed: both agents on this relay and none left on another, so the traffic measured crosses it.
        (mode === 'never' ||
          ((await relayConnections(relay.port)) === 2 &&
            (await Promise.all(RELAYS.filter((r) => r !== relay).map((r) => relayConnections(r.port)))).every(
              (n) => n === 0,
            ))) &&
        (await mesh.ping(a, b.address, { count: 1 })).loss === 0,
      60_000,
      `both sides ${mode === 'always' ? `relayed through the ${relay.name} relay` : 'direct'}`,
    );
  };
  const measure = async () => {
    const relay = relays.get(relayInUse.name)!;
    const wgPids = [...wireguardGoPids(a), ...wireguardGoPids(b)];
    // The agents (Node) and the relay-links this bench started (whatever their program).
    const proxyPids = [
      ...new Set([...nodePids(a), ...nodePids(b), ...[...relayLinks.values()].map((l) => l.pid)]),
    ].filter((pid) => ![...relays.values()].some((r) => r.pid === pid));
    const cpuOf = () => ({
      relay: cpuMs(relay.pid),
      agents: cpuMsOf(proxyPids),
      agentsSystem: systemCpuMsOf(proxyPids),
      wireguardGo: cpuMsOf(wgPids),
    });
    const rcvbufBefore = [await udpRcvbufErrors(a), await udpRcvbufErrors(b)];
    const dropsBefore = [await udpDropsByProgram(a), await udpDropsByProgram(b)];
    const cpuBefore = cpuOf();
    // A ping beside the bulk transfer: the latency interactive traffic sees on a busy path (from 1 s in, so
    // that iperf3 is at speed, for all but the last second).
    const pingsUnderLoad = Math.max(1, (SECONDS - 2) * 50);
    const underLoad = new Promise((resolve) => setTimeout(resolve, 1000)).then(() =>
      a.exec(['ping', '-n', '-c', String(pingsUnderLoad), '-i', '0.02', b.address], { allowFail: true }),
    );
    const { stdout } = await a.exec(['iperf3', '-c', b.address, '-t', String(SECONDS), '-J'], {
      timeoutMs: (SECONDS + 20) * 1000,
    });
    const cpuAfter = cpuOf();
    const rttsUnderLoad = [...(await underLoad).stdout.matchAll(/time=([\d.]+) ms/g)].map((m) =>
      Number(m[1]),
    );
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
    const { stdout: pingOut } = await a.exec(['ping', '-n', '-c', '150', '-i', '0.02', b.address]);
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
      pingUnderLoadP50Ms: median(rttsUnderLoad),
      // How many Node processes the proxy CPU above sums (agents, plus relay-link processes once they exist).
      proxyProcesses: proxyPids.length,
      load1: loadavg()[0] ?? 0,
    };
  };

  type Run = Awaited<ReturnType<typeof measure>>;
  const direct: Run[] = [];
  const relayed = new Map<Variant, Run[]>(VARIANTS.map((v) => [v, []]));
  for (let run = 0; run < RUNS; run++) {
    // Rotate the variants and alternate which path goes first, so drift in the machine's load hits all alike.
    // The relay-link in use carries on into the next run's first slot when it can.
    const order = VARIANTS.map((_, i) => VARIANTS[(i + run) % VARIANTS.length]!);
    const slots: Array<Variant | 'direct'> = run % 2 === 0 ? ['direct', ...order] : [...order, 'direct'];
    for (const slot of slots) {
      if (slot !== 'direct') await useRelayLink(slot.link);
      if (slot === 'direct') await setMode('never');
      else await setMode('always', slot.relay);
      const m = await measure();
      if (slot === 'direct') direct.push(m);
      else relayed.get(slot)!.push({ ...m });
      process.stderr.write(
        `run ${run + 1}/${RUNS} ${slot === 'direct' ? 'direct' : `relayed (${variantName(slot)})`}: ${JSON.stringify(m)}\n`,
      );
    }
  }
  const round = (n: number, digits = 2) => Number(n.toFixed(digits));
  const loads = [...direct, ...[...relayed.values()].flat()].map((r) => r.load1);
  await server.stop();
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
  /** One implementation's relayed figures against the same runs' direct ones. */
  const relayedFigures = (runs: Run[]) => {
    const ratios = direct.map((d, i) => (runs[i]?.mbps ?? 0) / d.mbps);
    const pingRatios = direct.map((d, i) => (runs[i]?.pingP50Ms ?? 0) / d.pingP50Ms);
    return {
      relayedMbps: pick(runs, 'mbps', 1),
      throughputRatio: round(median(ratios)),
      throughputRatios: ratios.map((r) => round(r)),
      relayCpuMsPerGB: pick(runs, 'relayCpuMsPerGB'),
      proxyAgentsCpuMsPerGB: pick(runs, 'agentsCpuMsPerGB'),
      proxyAgentsSystemCpuMsPerGB: pick(runs, 'agentsSystemCpuMsPerGB'),
      proxyProcesses: pick(runs, 'proxyProcesses'),
      relayedWireguardGoCpuMsPerGB: pick(runs, 'wireguardGoCpuMsPerGB'),
      relayedRetransmitsPerMB: pick(runs, 'retransmitsPerMB', 2),
      relayedUdpRcvbufErrors: pick(runs, 'udpRcvbufErrors'),
      relayedUdpRcvbufErrorsSenderSide: pick(runs, 'udpRcvbufErrorsSender'),
      relayedUdpDropsByProgram: dropsOf(runs),
      relayedPingP50Ms: pick(runs, 'pingP50Ms', 3),
      relayedPingUnderLoadP50Ms: pick(runs, 'pingUnderLoadP50Ms', 3),
      pingP50Ratio: round(median(pingRatios)),
      pingP50Ratios: pingRatios.map((r) => round(r)),
    };
  };
  const figuresOf = (v: Variant) => relayedFigures(relayed.get(v) ?? []);
  const byImplementation = Object.fromEntries(
    VARIANTS.filter((v) => v.relay === RELAYS[0]).map((v) => [v.link.name, figuresOf(v)]),
  );
  const byRelay = Object.fromEntries(
    VARIANTS.filter((v) => v.link === IMPLEMENTATIONS[0]).map((v) => [v.relay.name, figuresOf(v)]),
  );
  const first = figuresOf(VARIANTS[0]!);
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
      relayLink: IMPLEMENTATIONS[0]!.name,
      relay: RELAYS[0]!.name === 'custom' ? RELAYS[0]!.command.join(' ') : RELAYS[0]!.name,
      directMbps: pick(direct, 'mbps', 1),
      ...first,
      throughputTarget: 0.8,
      directAgentsCpuMsPerGB: pick(direct, 'agentsCpuMsPerGB'),
      directWireguardGoCpuMsPerGB: pick(direct, 'wireguardGoCpuMsPerGB'),
      directRetransmitsPerMB: pick(direct, 'retransmitsPerMB', 2),
      directUdpRcvbufErrors: pick(direct, 'udpRcvbufErrors'),
      directUdpDropsByProgram: dropsOf(direct),
      directPingP50Ms: pick(direct, 'pingP50Ms', 3),
      directPingUnderLoadP50Ms: pick(direct, 'pingUnderLoadP50Ms', 3),
      pingTarget: 2,
      relayLinks: byImplementation,
      relays: byRelay,
    }),
  );
  await mesh.stopAll();
  for (const link of relayLinks.values()) await link.stop(5_000);
  for (const relay of relays.values()) await relay.stop();
} finally {
  await lab.destroy();
  rmSync(stateDir, { recursive: true, force: true });
}
