// bench:garbage — what a garbage connection costs the relay, against a plain discard server.
//
// The relay program (dist/main.js, info logging to a pipe as in the lab) and a discard TCP server
// (discard-sink.mjs) each run in their own process on loopback; this process opens garbage connections — the
// chaos fuzzer's mix (src/testing/garbage.ts), one kind after the other — at a fixed rate, aimed at one of them at a
// time, and reads the target's CPU time (/proc/<pid>/stat) over a window. Per run: relay and sink windows
// back to back (alternating which goes first); figures are medians over runs, the ratio is the median of
// per-run ratios. Two relays: as deployed (`relay`), and with the source penalty off (`unpenalized`), which
// pays for every garbage connection's session. Last line: one JSON object.
//
//   BENCH_RUNS (5), BENCH_RATE connections/s (300), BENCH_WINDOW_MS (3000), BENCH_REQUIRE_AUTH=1 (relay flag),
//   BENCH_RELAY_BEFORE=<other build>/dist/main.js (a second relay build in the same runs),
//   BENCH_CPU_PROF=<dir> (the relays and the sink write V8 CPU profiles there on exit).
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attemptMs, KINDS, payload, TRICKLE_MS } from '../src/testing/garbage.js';
import { cpuSplitMs, median, round, startChild, stopChild } from './children.js';

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const RUNS = Number(env.BENCH_RUNS ?? 5);
const RATE = Number(env.BENCH_RATE ?? 300);
const WINDOW_MS = Number(env.BENCH_WINDOW_MS ?? 3_000);
const SETTLE_MS = 2_000;
const profile = env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', env.BENCH_CPU_PROF] : [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Target {
  name: string;
  child: ChildProcess;
  port: number;
}

async function startRelay(name: string, main: string, extra: string[] = []): Promise<Target> {
  const args = [main, '--port', '0', '--http-port', '0', '--listen-address', '127.0.0.1', ...extra];
  if (env.BENCH_REQUIRE_AUTH === '1') args.push('--require-auth');
  const started = await startChild(args, 'port', profile);
  return { name, child: started.child, port: Number(started.ready.port) };
}

async function startSink(): Promise<Target> {
  const started = await startChild([join(here, 'discard-sink.mjs')], 'port', profile);
  return { name: 'sink', child: started.child, port: Number(started.ready.port) };
}

/** Opens one garbage connection of each kind in turn, RATE per second, at whichever port `aim` says. */
function fuzzer(aim: () => number) {
  let stopped = false;
  let opened = 0;
  let next = 0;
  const one = (port: number) => {
    const kind = KINDS[next++ % KINDS.length]!;
    const socket = connect({ host: '127.0.0.1', port });
    opened++;
    socket.on('error', () => socket.destroy());
    socket.on('data', () => undefined);
    const hangUp = setTimeout(() => socket.destroy(), attemptMs(kind));
    socket.once('close', () => clearTimeout(hangUp));
    socket.once('connect', async () => {
      for (const chunk of payload(kind)) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (kind === 'slow-header') await sleep(TRICKLE_MS);
      }
    });
  };
  const started = performance.now();
  let sent = 0;
  const timer = setInterval(() => {
    if (stopped) return;
    // Catch up to the schedule, so a late timer does not lower the rate.
    const due = Math.floor(((performance.now() - started) * RATE) / 1000);
    const port = aim();
    for (; sent < due; sent++) if (port > 0) one(port);
  }, 5);
  return {
    get opened() {
      return opened;
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

interface Window {
  cpuMs: number;
  systemMs: number;
  connections: number;
  usPerConnection: number;
}

async function main(): Promise<void> {
  const main = join(here, '..', 'dist', 'main.js');
  // `relay` as deployed (the source penalty resets this one address's connections at accept once it has spent its
  // strikes); `unpenalized` pays for every garbage connection's session, which is what the penalty saves.
  const relays = [
    await startRelay('relay', main),
    await startRelay('unpenalized', main, ['--source-penalty-burst', '0']),
  ];
  if (env.BENCH_RELAY_BEFORE) relays.push(await startRelay('before', env.BENCH_RELAY_BEFORE));
  const sink = await startSink();
  const targets = [...relays, sink];
  let port = 0;
  const fuzz = fuzzer(() => port);
  const results = new Map<string, Window[]>(targets.map((t) => [t.name, []]));
  const loads: number[] = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      const order = run % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) {
        port = target.port;
        await sleep(SETTLE_MS);
        const before = cpuSplitMs(target.child.pid!);
        const opened0 = fuzz.opened;
        await sleep(WINDOW_MS);
        const after = cpuSplitMs(target.child.pid!);
        const systemMs = after.systemMs - before.systemMs;
        const cpu = after.userMs - before.userMs + systemMs;
        const connections = fuzz.opened - opened0;
        results
          .get(target.name)!
          .push({ cpuMs: cpu, systemMs, connections, usPerConnection: (cpu * 1000) / connections });
      }
      loads.push(loadavg()[0]!);
      const line = targets.map((t) => `${t.name} ${round(results.get(t.name)!.at(-1)!.usPerConnection, 0)}`);
      process.stderr.write(`run ${run + 1}/${RUNS}: µs per connection ${line.join(', ')}\n`);
    }
  } finally {
    fuzz.stop();
    port = 0;
    await sleep(2_500);
    for (const target of targets) await stopChild(target.child);
  }
  const sinkRuns = results.get('sink')!;
  const summary: Record<string, unknown> = {
    bench: 'garbage',
    runs: RUNS,
    ratePerSecond: RATE,
    windowMs: WINDOW_MS,
    kinds: KINDS,
    requireAuth: env.BENCH_REQUIRE_AUTH === '1',
    cpus: cpus().length,
    loadavg: { min: round(Math.min(...loads)), max: round(Math.max(...loads)) },
  };
  for (const target of targets) {
    const windows = results.get(target.name)!;
    summary[target.name] = {
      usPerConnection: round(median(windows.map((w) => w.usPerConnection)), 1),
      systemUsPerConnection: round(median(windows.map((w) => (w.systemMs * 1000) / w.connections)), 1),
      connectionsPerWindow: median(windows.map((w) => w.connections)),
      perRun: windows.map((w) => round(w.usPerConnection, 0)),
      ...(target === sink
        ? {}
        : {
            vsSink: round(median(windows.map((w, i) => w.usPerConnection / sinkRuns[i]!.usPerConnection))),
          }),
    };
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

await main();
