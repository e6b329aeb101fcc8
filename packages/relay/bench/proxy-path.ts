// npm run bench:proxy-path -w @wirekube/relay
//
// The agent's half of the relayed path without the lab: this process plays both WireGuards (two loopback UDP
// sockets), two child processes play the two agents (RelayClient + UdpProxy, bench/proxy-agent.mjs) and the real
// relay program runs in a third, so every hop of the lab's relayed path except NAT and wireguard-go is there:
//   wg A ─UDP─► proxy A ─TCP─► relay ─TCP─► proxy B ─UDP─► wg B.
// Throughput: 1452-byte datagrams (a WireGuard data packet at MTU 1420) in bursts, at most BENCH_WINDOW in flight,
// so the measure is what the path carries, not how much it drops. Latency: one datagram there and back at a time,
// against the same exchange sent straight between the two sockets (the same-run baseline).
// CPU per GB is each process's own user+system time over the bytes delivered: the figure that depends least on the
// shared machine's load. BENCH_PROXY_BEFORE=<another build's dist dir> measures that build too, in the same runs
// (alternating first), to check a change before/after. BENCH_CPU_PROF=<dir> profiles the children. The last line
// of output is one JSON object.
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:dgram';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateRawKeyPair, keyToBase64 } from '../src/auth/keys.js';
import { type BulkResult, throughput as bulk, DATAGRAM, WINDOW } from './bulk.js';
import { median, round, startChild, stopChild, udpSocket } from './children.js';

const here = dirname(fileURLToPath(import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const PINGS = 300;
/** BENCH_RTT_ONLY=1: latency alone, without a bulk phase before it (whose CPU use biases the scheduler). */
const RTT_ONLY = process.env.BENCH_RTT_ONLY === '1';
const PING_SIZE = 64;

/** BENCH_CPU_PROF=<dir>: every child writes a V8 CPU profile there when it exits. */
const profile = process.env.BENCH_CPU_PROF
  ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF]
  : [];

async function child(args: string[], key: string): Promise<{ child: ChildProcess; value: number }> {
  const started = await startChild(args, key, profile);
  return { child: started.child, value: Number(started.ready[key]) };
}

interface Path {
  name: string;
  relay: ChildProcess;
  agents: [ChildProcess, ChildProcess];
  wgA: Socket;
  wgB: Socket;
  /** Where wg A sends to reach B (proxy A's port), and where wg B sends to reach A (proxy B's port). */
  toB: number;
  toA: number;
}

async function startPath(name: string, dist: string): Promise<Path> {
  const relay = await child(
    [join(dist, 'main.js'), '--port', '0', '--http-port', '0', '--listen-address', '127.0.0.1'],
    'port',
  );
  const [a, b] = [generateRawKeyPair(), generateRawKeyPair()];
  const [wgA, wgB] = [await udpSocket(), await udpSocket()];
  const agent = (own: typeof a, peer: typeof a, wg: Socket) =>
    child(
      [
        join(here, 'proxy-agent.mjs'),
        dist,
        String(relay.value),
        keyToBase64(own.privateKey),
        keyToBase64(peer.publicKey),
        String(wg.address().port),
      ],
      'proxyPort',
    );
  const [agentA, agentB] = [await agent(a, b, wgA), await agent(b, a, wgB)];
  return {
    name,
    relay: relay.child,
    agents: [agentA.child, agentB.child],
    wgA,
    wgB,
    toB: agentA.value,
    toA: agentB.value,
  };
}

async function stopPath(path: Path): Promise<void> {
  await Promise.all([...path.agents, path.relay].map(stopChild));
  path.wgA.close();
  path.wgB.close();
}

const throughput = (path: Path, seconds: number): Promise<BulkResult> =>
  bulk({ ...path, pids: [path.agents[0].pid!, path.agents[1].pid!, path.relay.pid!] }, seconds);

/** Round trips of one small datagram at a time; `via` false sends straight between the two sockets. Pings carry a
 * sequence number and are told from late bulk datagrams by their size. */
async function rtt(path: Path, via: boolean): Promise<number> {
  const to = via ? path.toB : path.wgB.address().port;
  const back = via ? path.toA : path.wgA.address().port;
  const echo = (message: Buffer) => {
    if (message.length === PING_SIZE) path.wgB.send(message, back, '127.0.0.1');
  };
  path.wgB.on('message', echo);
  const samples: number[] = [];
  try {
    for (let seq = 0; seq < PINGS; seq++) {
      const ping = Buffer.alloc(PING_SIZE, 0x04);
      ping.writeUInt32BE(seq);
      const started = performance.now();
      const answered = new Promise<void>((resolve) => {
        const onMessage = (message: Buffer) => {
          if (message.length !== PING_SIZE || message.readUInt32BE(0) !== seq) return;
          path.wgA.off('message', onMessage);
          resolve();
        };
        path.wgA.on('message', onMessage);
        setTimeout(() => {
          path.wgA.off('message', onMessage);
          resolve();
        }, 1000);
      });
      path.wgA.send(ping, to, '127.0.0.1');
      await answered;
      samples.push((performance.now() - started) * 1000);
    }
  } finally {
    path.wgB.off('message', echo);
  }
  return median(samples);
}

const builds: Array<[string, string]> = [['after', join(here, '../dist')]];
if (process.env.BENCH_PROXY_BEFORE) builds.push(['before', process.env.BENCH_PROXY_BEFORE]);
const paths: Path[] = [];
try {
  for (const [name, dist] of builds) paths.push(await startPath(name, dist));
  // JIT warm-up of every process before anything counts.
  if (!RTT_ONLY) for (const path of paths) await throughput(path, 1);
  const results = new Map<string, Array<Awaited<ReturnType<typeof throughput>> & { rttUs: number }>>(
    paths.map((p) => [p.name, []]),
  );
  const baselineRtt: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const order = run % 2 === 0 ? paths : [...paths].reverse();
    for (const path of order) {
      const bulk = RTT_ONLY
        ? {
            mbps: 0,
            lossPerMille: 0,
            senderAgentCpuMsPerGB: 0,
            receiverAgentCpuMsPerGB: 0,
            relayCpuMsPerGB: 0,
            load1: loadavg()[0] ?? 0,
          }
        : await throughput(path, SECONDS);
      const measured = { ...bulk, rttUs: await rtt(path, true) };
      results.get(path.name)!.push(measured);
      process.stderr.write(`run ${run + 1}/${RUNS} ${path.name}: ${JSON.stringify(measured)}\n`);
    }
    baselineRtt.push(await rtt(paths[0]!, false));
  }
  const summary: Record<string, unknown> = {
    bench: 'relay-proxy-path',
    runs: RUNS,
    secondsPerRun: SECONDS,
    datagramBytes: DATAGRAM,
    window: WINDOW,
    directRttUs: round(median(baselineRtt), 0),
  };
  for (const [name, runs] of results) {
    const pick = (key: keyof (typeof runs)[number], digits = 0) =>
      round(median(runs.map((r) => r[key])), digits);
    summary[name] = {
      mbps: pick('mbps', 1),
      senderAgentCpuMsPerGB: pick('senderAgentCpuMsPerGB'),
      receiverAgentCpuMsPerGB: pick('receiverAgentCpuMsPerGB'),
      relayCpuMsPerGB: pick('relayCpuMsPerGB'),
      rttUs: pick('rttUs'),
      lossPerMille: pick('lossPerMille', 2),
      load1: [
        round(Math.min(...runs.map((r) => r.load1)), 1),
        round(Math.max(...runs.map((r) => r.load1)), 1),
      ],
    };
  }
  const after = results.get('after')!;
  const before = results.get('before');
  if (before) {
    summary.mbpsAfterOverBefore = round(median(after.map((r, i) => r.mbps / before[i]!.mbps)));
    summary.agentsCpuAfterOverBefore = round(
      median(
        after.map(
          (r, i) =>
            (r.senderAgentCpuMsPerGB + r.receiverAgentCpuMsPerGB) /
            (before[i]!.senderAgentCpuMsPerGB + before[i]!.receiverAgentCpuMsPerGB),
        ),
      ),
    );
    summary.relayCpuAfterOverBefore = round(
      median(after.map((r, i) => r.relayCpuMsPerGB / before[i]!.relayCpuMsPerGB)),
    );
  }
  console.log(JSON.stringify(summary));
} finally {
  await Promise.all(paths.map(stopPath));
}
