// npm run bench -w @wirekube/relay
//
// Runs the real wirekube-relay program (dist/main.js) and a minimal pass-through TCP forwarder side by side, each
// in its own process, and drives both from this process with the same load. Every scenario alternates
// baseline/relay within each run; results are medians over the runs, ratios are medians of per-run ratios. The
// last line of output is one JSON object.
//
// Environment: BENCH_RUNS (default 9), BENCH_SECONDS (default 1, plus 0.5 s warm-up per measurement).
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

let relayHttpPort = 0;

/** Frames the relay dropped so far, by reason, from its own /metrics. */
async function relayDrops(): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${relayHttpPort}/metrics`)).text();
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

async function main() {
  const relay = await startChild(
    [
      join(here, '../dist/main.js'),
      '--port',
      '0',
      '--http-port',
      '0',
      '--listen-address',
      '127.0.0.1',
      '--http-address',
      '127.0.0.1',
    ],
    (line) => {
      if (line.event !== 'started') return undefined;
      relayHttpPort = Number(line.httpPort);
      return Number(line.port);
    },
  );
  const baseline = await startChild(['--import', 'tsx', join(here, 'passthrough.ts')], (line) =>
    Number(line.port),
  );
  const relayTarget: Target = { kind: 'relay', port: relay.port, pid: relay.child.pid! };
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
    // Let both forwarders' JIT settle before anything is measured.
    for (const target of [baselineTarget, relayTarget]) {
      await throughput(target, 4, 'batched');
      await throughput(target, 1, 'per-frame');
    }
    for (const scenario of selected) {
      const relayRuns: Array<Awaited<ReturnType<typeof throughput>>> = [];
      const baseRuns: Array<Awaited<ReturnType<typeof throughput>>> = [];
      const cpuRatios: number[] = [];
      const ratios: number[] = [];
      const dropsBefore = await relayDrops();
      for (let run = 0; run < runs; run++) {
        // Alternate which goes first so neither always gets the quieter moment of a shared machine.
        let base: Awaited<ReturnType<typeof throughput>>;
        let rel: Awaited<ReturnType<typeof throughput>>;
        if (run % 2 === 0) {
          base = await throughput(baselineTarget, scenario.pairs, scenario.mode);
          rel = await throughput(relayTarget, scenario.pairs, scenario.mode);
        } else {
          rel = await throughput(relayTarget, scenario.pairs, scenario.mode);
          base = await throughput(baselineTarget, scenario.pairs, scenario.mode);
        }
        baseRuns.push(base);
        relayRuns.push(rel);
        ratios.push(rel.gbps / base.gbps);
        cpuRatios.push(base.cpuMsPerGB / rel.cpuMsPerGB);
        console.log(
          `${scenario.name} run ${run + 1}/${runs}: relay ${rel.gbps.toFixed(2)} Gbit/s ` +
            `(${rel.cpuMsPerGB.toFixed(0)} CPU-ms/GB), baseline ${base.gbps.toFixed(2)} Gbit/s ` +
            `(${base.cpuMsPerGB.toFixed(0)} CPU-ms/GB), ratio ${(rel.gbps / base.gbps).toFixed(2)}`,
        );
      }
      result[scenario.name] = {
        relayGbps: round(median(relayRuns.map((r) => r.gbps))),
        baselineGbps: round(median(baseRuns.map((r) => r.gbps))),
        relayFramesPerSec: Math.round(median(relayRuns.map((r) => r.framesPerSec))),
        baselineFramesPerSec: Math.round(median(baseRuns.map((r) => r.framesPerSec))),
        ratio: round(median(ratios)),
        relayCpuMsPerGB: round(median(relayRuns.map((r) => r.cpuMsPerGB)), 1),
        baselineCpuMsPerGB: round(median(baseRuns.map((r) => r.cpuMsPerGB)), 1),
        // Baseline CPU per byte over relay CPU per byte: 1 = as cheap as the pass-through.
        cpuEfficiencyRatio: round(median(cpuRatios)),
        relayDroppedFrames: dropsSince(dropsBefore, await relayDrops()),
      };
    }
    if (!only || only === 'latency') {
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
          [relayTarget, latency.relayP50, latency.relayP99],
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
    await stopChild(relay.child);
    await stopChild(baseline.child);
  }
  console.log(JSON.stringify(result));
}

await main();
