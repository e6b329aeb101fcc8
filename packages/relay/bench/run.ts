// npm run bench -w @wirekube/relay
//
// Runs the real wirekube-relay program (dist/main.js) and a minimal pass-through TCP forwarder side by side, each
// in its own process, and drives both from this process with the same load. Every scenario alternates
// baseline/relay within each run; results are medians over the runs, ratios are medians of per-run ratios. The
// last line of output is one JSON object.
//
// Environment: BENCH_RUNS (default 9), BENCH_SECONDS (default 1, plus 0.5 s warm-up per measurement),
// BENCH_ONLY=<scenario>, and BENCH_RELAY_BEFORE=<path to another build's dist/main.js>: measures that relay too, in
// the same runs against the same baseline (order rotating), so a refactor can be compared before/after under the
// same machine load. Its results appear as `before` inside each scenario.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  closePairs,
  FRAME_SIZE,
  measureLatency,
  measureThroughput,
  openPairs,
  type Target,
  type WriteMode,
} from './load.js';

const here = dirname(fileURLToPath(import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 9);
const seconds = Number(process.env.BENCH_SECONDS ?? 1);

async function startChild(args: string[], portOf: (line: Record<string, unknown>) => number | undefined) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const port = portOf(parsed);
    if (port) {
      lines.on('line', () => undefined);
      return { child, port };
    }
  }
  throw new Error(`child ${args.join(' ')} exited before reporting its port`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};
const round = (value: number, digits = 3) => Number(value.toFixed(digits));

async function throughput(target: Target, pairsCount: number, mode: WriteMode) {
  const pairs = await openPairs(target, pairsCount);
  try {
    const {
      bytes,
      seconds: elapsed,
      cpuSeconds,
    } = await measureThroughput(pairs, mode, seconds, 0.5, target.pid);
    return {
      gbps: (bytes * 8) / elapsed / 1e9,
      framesPerSec: bytes / FRAME_SIZE / elapsed,
      // Forwarder CPU per GB moved: independent of how much CPU the shared machine left it.
      cpuMsPerGB: bytes > 0 ? (cpuSeconds * 1000) / (bytes / 1e9) : Number.NaN,
    };
  } finally {
    await closePairs(pairs);
  }
}

interface RelayUnderTest {
  name: string;
  target: Target;
  httpPort: number;
  child: ChildProcess;
}

async function startRelay(name: string, main: string): Promise<RelayUnderTest> {
  let httpPort = 0;
  const started = await startChild(
    [main, '--port', '0', '--http-port', '0', '--listen-address', '127.0.0.1', '--http-address', '127.0.0.1'],
    (line) => {
      if (line.event !== 'started') return undefined;
      httpPort = Number(line.httpPort);
      return Number(line.port);
    },
  );
  return {
    name,
    target: { kind: 'relay', port: started.port, pid: started.child.pid! },
    httpPort,
    child: started.child,
  };
}

/** Frames a relay dropped so far, by reason, from its own /metrics. */
async function relayDrops(relay: RelayUnderTest): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${relay.httpPort}/metrics`)).text();
  const drops: Record<string, number> = {};
  for (const match of text.matchAll(/^wirekube_relay_dropped_frames_total\{reason="([a-z_]+)"\} (\d+)/gm)) {
    drops[match[1]!] = Number(match[2]);
  }
  return drops;
}

function dropsSince(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [reason, count] of Object.entries(after)) {
    const delta = count - (before[reason] ?? 0);
    if (delta > 0) out[reason] = delta;
  }
  return out;
}

type Measurement = Awaited<ReturnType<typeof throughput>>;

/** Everything one relay build scored in one scenario, against the baseline measured in the same runs. */
function summarize(runs: Measurement[], baseline: Measurement[], drops: Record<string, number>) {
  return {
    relayGbps: round(median(runs.map((r) => r.gbps))),
    baselineGbps: round(median(baseline.map((r) => r.gbps))),
    relayFramesPerSec: Math.round(median(runs.map((r) => r.framesPerSec))),
    baselineFramesPerSec: Math.round(median(baseline.map((r) => r.framesPerSec))),
    ratio: round(median(runs.map((r, i) => r.gbps / baseline[i]!.gbps))),
    relayCpuMsPerGB: round(median(runs.map((r) => r.cpuMsPerGB)), 1),
    baselineCpuMsPerGB: round(median(baseline.map((r) => r.cpuMsPerGB)), 1),
    // Baseline CPU per byte over relay CPU per byte: 1 = as cheap as the pass-through.
    cpuEfficiencyRatio: round(median(runs.map((r, i) => baseline[i]!.cpuMsPerGB / r.cpuMsPerGB))),
    relayDroppedFrames: drops,
  };
}

async function main() {
  const relays = [await startRelay('relay', join(here, '../dist/main.js'))];
  const beforeMain = process.env.BENCH_RELAY_BEFORE;
  if (beforeMain) relays.push(await startRelay('before', beforeMain));
  const baseline = await startChild(['--import', 'tsx', join(here, 'passthrough.ts')], (line) =>
    Number(line.port),
  );
  const baselineTarget: Target = { kind: 'baseline', port: baseline.port, pid: baseline.child.pid! };
  const scenarios: Array<{ name: string; pairs: number; mode: WriteMode }> = [
    { name: 'batched_1pair', pairs: 1, mode: 'batched' },
    { name: 'perFrame_1pair', pairs: 1, mode: 'per-frame' },
    { name: 'batched_16pairs', pairs: 16, mode: 'batched' },
  ];
  const only = process.env.BENCH_ONLY;
  const selected = only ? scenarios.filter((s) => s.name === only) : scenarios;
  const result: Record<string, unknown> = {
    frameBytes: FRAME_SIZE,
    datagramBytes: FRAME_SIZE - 37,
    runs,
    secondsPerRun: seconds,
  };
  try {
    // Let every forwarder's JIT settle before anything is measured.
    for (const target of [baselineTarget, ...relays.map((r) => r.target)]) {
      await throughput(target, 4, 'batched');
      await throughput(target, 1, 'per-frame');
    }
    for (const scenario of selected) {
      const baseRuns: Measurement[] = [];
      const relayRuns = new Map<string, Measurement[]>(relays.map((r) => [r.name, []]));
      const dropsBefore = await Promise.all(relays.map(relayDrops));
      for (let run = 0; run < runs; run++) {
        // Rotate who goes first so nobody always gets the quieter moment of a shared machine.
        const order = [null, ...relays];
        for (let i = 0; i < run % order.length; i++) order.push(order.shift()!);
        const line: string[] = [];
        for (const relay of order) {
          const measured = await throughput(
            relay ? relay.target : baselineTarget,
            scenario.pairs,
            scenario.mode,
          );
          if (relay) relayRuns.get(relay.name)!.push(measured);
          else baseRuns.push(measured);
        }
        for (const relay of relays) {
          const rel = relayRuns.get(relay.name)!.at(-1)!;
          line.push(
            `${relay.name} ${rel.gbps.toFixed(2)} Gbit/s (${rel.cpuMsPerGB.toFixed(0)} CPU-ms/GB, ratio ` +
              `${(rel.gbps / baseRuns.at(-1)!.gbps).toFixed(2)})`,
          );
        }
        const base = baseRuns.at(-1)!;
        console.log(
          `${scenario.name} run ${run + 1}/${runs}: ${line.join(', ')}, baseline ${base.gbps.toFixed(2)} Gbit/s ` +
            `(${base.cpuMsPerGB.toFixed(0)} CPU-ms/GB)`,
        );
      }
      const dropsAfter = await Promise.all(relays.map(relayDrops));
      const [main, ...others] = relays.map((relay, i) =>
        summarize(relayRuns.get(relay.name)!, baseRuns, dropsSince(dropsBefore[i]!, dropsAfter[i]!)),
      );
      result[scenario.name] = others.length ? { ...main, before: others[0] } : main;
    }
    if (!only || only === 'latency') {
      const relay = relays[0]!;
      const latency = {
        relayP50: [] as number[],
        relayP99: [] as number[],
        baseP50: [] as number[],
        baseP99: [] as number[],
      };
      const frames = Math.round(seconds * 500);
      for (let run = 0; run < runs; run++) {
        for (const [target, p50, p99] of [
          [baselineTarget, latency.baseP50, latency.baseP99],
          [relay.target, latency.relayP50, latency.relayP99],
        ] as const) {
          const [pair] = await openPairs(target, 1);
          const samples = await measureLatency(pair!, frames, 2);
          await closePairs([pair!]);
          p50.push(percentile(samples, 50));
          p99.push(percentile(samples, 99));
        }
        console.log(
          `latency run ${run + 1}/${runs}: relay p50 ${latency.relayP50.at(-1)!.toFixed(0)} µs ` +
            `p99 ${latency.relayP99.at(-1)!.toFixed(0)} µs, baseline p50 ${latency.baseP50.at(-1)!.toFixed(0)} µs ` +
            `p99 ${latency.baseP99.at(-1)!.toFixed(0)} µs`,
        );
      }
      const [rp50, rp99, bp50, bp99] = [
        latency.relayP50,
        latency.relayP99,
        latency.baseP50,
        latency.baseP99,
      ].map(median) as [number, number, number, number];
      result.latency = {
        framesPerSecond: 500,
        relayP50Us: round(rp50, 1),
        relayP99Us: round(rp99, 1),
        baselineP50Us: round(bp50, 1),
        baselineP99Us: round(bp99, 1),
        addedP50Us: round(rp50 - bp50, 1),
        addedP99Us: round(rp99 - bp99, 1),
        p50Ratio: round(rp50 / bp50),
        p99Ratio: round(rp99 / bp99),
      };
    }
  } finally {
    for (const relay of relays) await stopChild(relay.child);
    await stopChild(baseline.child);
  }
  console.log(JSON.stringify(result));
}

await main();
