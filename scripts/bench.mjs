#!/usr/bin/env node
// npm run bench [-- --only <name>[,<name>]] [--quick] [--list] [--out <file>] [--merge]
//
// Runs every package's benchmark (the nx projects with a `bench` target) and the lab benchmarks in e2e/bench, one
// after another (the machine is shared: nothing runs in parallel), and writes one combined bench/results.json and
// a Markdown table bench/SUMMARY.md. Every benchmark prints one JSON object on its last line; the adapters below
// turn each into figures { value, unit, baseline, ratio, target, met }. Progress goes to stderr; the last line of
// stdout is one JSON line: where the results are and the headline figures.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MINUTE = 60_000;

const USAGE = `usage: npm run bench [-- options]

Runs the package benchmarks and the lab benchmarks (real lab: needs root and npm run lab:setup) and writes
bench/results.json and bench/SUMMARY.md. Figures are medians of several runs; every ratio is against a baseline
measured in the same run.

options:
  --only NAMES   comma-separated benchmarks to run (see --list); default: all
  --quick        shorter windows and fewer runs (development; the committed figures use neither)
  --list         print the benchmark names and exit
  --out FILE     where to write the JSON (default bench/results.json; with --only, bench/results.partial.json)
  --merge        merge the benchmarks run into the existing --out file, keeping the others (each keeps its own
                 commit, time and load)
  -h, --help     this text`;

// --- figures -------------------------------------------------------------------------------------------------

const round = (v, digits = 3) => (Number.isFinite(v) ? Number(v.toFixed(digits)) : v);

/** The same shape as e2e/bench/lib/report.ts figure(). */
function figure({ name, value, unit, baseline, target, note, ratio: pairedRatio }) {
  const base = baseline
    ? { what: baseline.what, value: round(baseline.value), unit: baseline.unit ?? unit }
    : null;
  // A benchmark that pairs its runs reports the median of per-run ratios itself: keep that one.
  const ratio =
    pairedRatio !== undefined
      ? round(pairedRatio)
      : base && base.value !== 0
        ? round(value / base.value)
        : null;
  let met = null;
  if (target) {
    const subject = target.on === 'ratio' ? ratio : value;
    met =
      subject === null || !Number.isFinite(subject)
        ? false
        : target.op === '<='
          ? subject <= target.value
          : subject >= target.value;
  }
  return {
    name,
    value: round(value),
    unit,
    baseline: base,
    ratio,
    target: target ?? null,
    met,
    ...(note ? { note } : {}),
  };
}

/** Package benchmarks print their own JSON shapes; each adapter maps one to figures. */
const PACKAGE_ADAPTERS = {
  '@wirekube/agent': (r) => [
    figure({
      name: 'agent.plan',
      value: r.planMedianMs,
      unit: 'ms',
      baseline: { what: 'a bare map over the same peers', value: r.baselineMedianMs },
      target: { on: 'value', op: '<=', value: r.targetMs, source: 'issue 6' },
      note: `plan() of ${r.peers} peers, median of ${r.runs}`,
    }),
  ],
  '@wirekube/netlink': (r) =>
    Object.entries(r.medianMs).map(([op, ms]) =>
      figure({
        name: `netlink.${op}`,
        value: ms,
        unit: 'ms',
        baseline: { what: 'JSON.stringify of the same update', value: r.baselineMs },
        note: `${r.peers} peers, median of ${r.runs}`,
      }),
    ),
  '@wirekube/relay': (r) => {
    const out = [];
    for (const [name, s] of Object.entries(r)) {
      if (!s || typeof s !== 'object' || !('relayGbps' in s)) continue;
      out.push(
        figure({
          name: `relay.${name}`,
          value: s.relayGbps,
          unit: 'Gbit/s',
          baseline: { what: 'a minimal pass-through TCP forwarder', value: s.baselineGbps },
          ratio: s.ratio,
          note: `loopback, ${r.runs} runs × ${r.secondsPerRun} s, ratio: median of per-run ratios; CPU efficiency vs pass-through ${s.cpuEfficiencyRatio}`,
        }),
      );
    }
    if (r.latency) {
      for (const p of ['P50', 'P99'])
        out.push(
          figure({
            name: `relay.latency.${p.toLowerCase()}`,
            value: r.latency[`relay${p}Us`],
            unit: 'µs',
            baseline: { what: 'pass-through forwarder', value: r.latency[`baseline${p}Us`] },
            note: `loopback frames at ${r.latency.framesPerSecond}/s`,
          }),
        );
    }
    return out;
  },
  '@wirekube/e2e': (r) => [
    figure({
      name: 'lab.full-topology',
      value: r.fullTopologyMs,
      unit: 'ms',
      baseline: { what: 'the same hosts without control plane and STUN', value: r.networkOnlyMs },
      target: { on: 'value', op: '<=', value: r.targetMs, source: 'issue 2 (lab < 10 s)' },
      note: `create + destroy, median of ${r.runs}`,
    }),
  ],
};

/** perf's relayed-vs-direct benchmark (e2e/bench/relay-path.bench.ts), run as it is. */
function relayPathFigures(r) {
  const note = `real agents cone1↔cone2, ${r.relayLink ?? ''} relay-link, ${r.relay ?? ''} relay, iperf3 ${r.secondsPerRun} s × ${r.runs}, alternating (relay-path.bench.ts)`;
  return [
    figure({ name: 'throughput.direct', value: r.directMbps, unit: 'Mbit/s', note }),
    figure({
      name: 'throughput.relayed',
      value: r.relayedMbps,
      unit: 'Mbit/s',
      baseline: { what: 'direct, same two agents, same run', value: r.directMbps },
      ratio: r.throughputRatio,
      target: {
        on: 'ratio',
        op: '>=',
        value: r.throughputTarget ?? 0.8,
        source: 'issue 10/15 (relayed/direct ≥ 0.8)',
      },
      note,
    }),
    figure({
      name: 'relay-path.relay-cpu',
      value: r.relayCpuMsPerGB,
      unit: 'CPU-ms/GB',
      note: `${note}; the relay process per relayed GB`,
    }),
    figure({
      name: 'relay-path.proxy-agent-cpu',
      value: r.proxyAgentsCpuMsPerGB,
      unit: 'CPU-ms/GB',
      baseline: { what: "direct path: the two agents' CPU per GB", value: r.directAgentsCpuMsPerGB },
      note: `${note}; both hosts' agents and ${r.relayLink ?? 'the'} relay-links per relayed GB`,
    }),
    figure({
      name: 'relay-path.ping-p50',
      value: r.relayedPingP50Ms,
      unit: 'ms',
      baseline: { what: 'direct p50, same run', value: r.directPingP50Ms },
      ratio: r.pingP50Ratio,
      target: { on: 'ratio', op: '<=', value: r.pingTarget ?? 2, source: 'issue 10' },
      note,
    }),
    // The other relay-links (through the first relay) and the other relays (with the first relay-link), measured
    // in the same runs, for comparison (no target).
    ...alternativeFigures(r, note, 'relay-link', r.relayLinks, r.relayLink),
    ...alternativeFigures(r, note, 'relay', r.relays, r.relay),
    ...Object.entries(r.relays ?? {})
      .filter(([name]) => name !== r.relay)
      .map(([name, other]) =>
        figure({
          name: `relay-path.${name}-relay.relay-cpu`,
          value: other.relayCpuMsPerGB,
          unit: 'CPU-ms/GB',
          note: `${note}; the ${name} relay process per relayed GB`,
        }),
      ),
  ];
}

/** Throughput and ping of each alternative `kind` (relay-link, relay) in `alternatives` other than `current`. */
function alternativeFigures(r, note, kind, alternatives, current) {
  return Object.entries(alternatives ?? {})
    .filter(([name]) => name !== current)
    .flatMap(([name, other]) => [
      figure({
        name: `relay-path.${name}-${kind}.throughput`,
        value: other.relayedMbps,
        unit: 'Mbit/s',
        baseline: { what: 'direct, same runs', value: r.directMbps },
        ratio: other.throughputRatio,
        note: `${note}; the ${name} ${kind} instead of the ${current}`,
      }),
      figure({
        name: `relay-path.${name}-${kind}.ping-p50`,
        value: other.relayedPingP50Ms,
        unit: 'ms',
        baseline: { what: 'direct p50, same runs', value: r.directPingP50Ms },
        ratio: other.pingP50Ratio,
        note: `${note}; the ${name} ${kind} instead of the ${current}`,
      }),
    ]);
}

// --- the benchmarks ------------------------------------------------------------------------------------------

function labBench(file, { timeoutMin, quickEnv = {}, env = {}, adapt } = {}) {
  return {
    kind: 'lab',
    cwd: join(ROOT, 'e2e'),
    argv: (quick) => ['npx', 'tsx', `bench/${file}`, ...(quick ? ['--quick'] : [])],
    env: (quick) => ({ ...env, ...(quick ? quickEnv : {}) }),
    timeoutMs: (timeoutMin ?? 15) * MINUTE,
    adapt: adapt ?? ((r) => r.figures),
  };
}

function packageBenches() {
  let projects;
  try {
    projects = JSON.parse(
      execFileSync('npx', ['nx', 'show', 'projects', '--with-target', 'bench', '--json'], {
        cwd: ROOT,
        env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
        encoding: 'utf8',
      }),
    );
  } catch (error) {
    throw new Error(`nx show projects --with-target bench failed: ${error.message}`);
  }
  const out = {};
  for (const project of projects.sort()) {
    const short =
      project.replace(/^@wirekube\//, '') === 'e2e' ? 'topology' : project.replace(/^@wirekube\//, '');
    out[short] = {
      kind: 'package',
      project,
      cwd: ROOT,
      argv: () => ['npm', 'run', '--silent', 'bench', '-w', project],
      env: (quick) => (quick ? { BENCH_RUNS: '3', BENCH_SECONDS: '0.5' } : {}),
      timeoutMs: 15 * MINUTE,
      adapt: PACKAGE_ADAPTERS[project] ?? ((r) => (Array.isArray(r.figures) ? r.figures : [])),
    };
  }
  return out;
}

function allBenches() {
  return {
    ...packageBenches(),
    'relay-path': {
      ...labBench('relay-path.bench.ts', {
        env: { BENCH_RUNS: '3', BENCH_SECONDS: '10' },
        quickEnv: { BENCH_RUNS: '1', BENCH_SECONDS: '3' },
        adapt: relayPathFigures,
      }),
      argv: () => ['npx', 'tsx', 'bench/relay-path.bench.ts'],
    },
    throughput: labBench('throughput.bench.ts'),
    latency: labBench('latency.bench.ts'),
    'cold-start': labBench('cold-start.bench.ts', { timeoutMin: 25 }),
    scale: labBench('scale.bench.ts'),
    'api-writes': labBench('api-writes.bench.ts', { timeoutMin: 25 }),
    'failover-path': labBench('failover-path.bench.ts'),
    'failover-gateway': labBench('failover-gateway.bench.ts'),
  };
}

// --- running -------------------------------------------------------------------------------------------------

const log = (message) => process.stderr.write(`[bench] ${message}\n`);

function machine() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    kernel: os.release(),
    loadavg: os.loadavg().map((l) => round(l, 2)),
  };
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** The benchmark running now: an interrupt of this script is passed on to its process group (labs tear down). */
let current;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (current?.pid) {
      try {
        process.kill(-current.pid, signal);
      } catch {}
    }
    process.exitCode = 130;
  });
}

/** Runs one benchmark; its output streams to stderr with a prefix; resolves with the JSON of its last line. */
function runOne(name, bench, quick) {
  return new Promise((resolve) => {
    const started = Date.now();
    const [cmd, ...args] = bench.argv(quick);
    const child = spawn(cmd, args, {
      cwd: bench.cwd,
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', ...bench.env(quick) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    current = child;
    let lastJson;
    let tail = [];
    const onLine = (line) => {
      process.stderr.write(`  ${name} | ${line}\n`);
      tail = [...tail.slice(-30), line];
      if (line.startsWith('{')) {
        try {
          lastJson = JSON.parse(line);
        } catch {
          // a log line that only looks like JSON
        }
      }
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    const timer = setTimeout(() => {
      log(`${name}: timed out after ${bench.timeoutMs / MINUTE} min, stopping it`);
      // Its own process group only: the bench and whatever it spawned (its lab tears down on SIGTERM).
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {}
    }, bench.timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      const durationMs = Date.now() - started;
      if (code !== 0 || !lastJson) {
        resolve({ ok: false, durationMs, error: `exit ${code ?? signal}; last output:\n${tail.join('\n')}` });
        return;
      }
      try {
        resolve({ ok: true, durationMs, raw: lastJson, figures: bench.adapt(lastJson) });
      } catch (error) {
        resolve({ ok: false, durationMs, raw: lastJson, error: `adapter: ${error.message}` });
      }
    });
  });
}

// --- output --------------------------------------------------------------------------------------------------

function fmt(v) {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'number') return String(v);
  return Math.abs(v) >= 100 ? String(Math.round(v)) : String(round(v, 2));
}

function summary(results) {
  const lines = [
    '# WireKube benchmarks',
    '',
    `Produced by \`npm run bench\`${results.quick ? ' (--quick: development figures, not the real ones)' : ''} at commit \`${results.commit}\`${results.dirty ? ' (+ uncommitted changes)' : ''}, ${results.startedAt} → ${results.finishedAt}.`,
    `Machine: ${results.machine.cores} cores (${results.machine.cpuModel}), ${results.machine.memoryGiB} GiB, Node ${results.machine.node}, kernel ${results.machine.kernel}; load average at start ${results.machine.loadavgStart.join(' / ')}, at end ${results.machine.loadavgEnd.join(' / ')} (1/5/15 min; the machine is shared with other work).`,
    'Every value is a median of several runs; every ratio is value ÷ a baseline measured in the same run. Raw data: [results.json](results.json).',
    '',
    '| benchmark | figure | value | baseline (same run) | ratio | target | met |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const [name, bench] of Object.entries(results.benches)) {
    if (!bench.ok) {
      lines.push(`| ${name} | **failed** (${bench.error?.split('\n')[0] ?? ''}) | | | | | |`);
      continue;
    }
    for (const f of bench.figures) {
      const base = f.baseline ? `${fmt(f.baseline.value)} ${f.baseline.unit} — ${f.baseline.what}` : '—';
      const target = f.target
        ? `${f.target.on === 'ratio' ? 'ratio' : 'value'} ${f.target.op} ${f.target.value}`
        : '';
      const met = f.met === null ? '' : f.met ? 'yes' : '**no**';
      lines.push(
        `| ${name} | ${f.name} | ${fmt(f.value)} ${f.unit} | ${base} | ${fmt(f.ratio)} | ${target} | ${met} |`,
      );
    }
  }
  const missed = results.missed;
  lines.push(
    '',
    missed.length
      ? `Missed targets: ${missed.join(', ')} (what limits them: bench/README.md).`
      : 'Every target met.',
  );
  return `${lines.join('\n')}\n`;
}

function flatten(benches) {
  return Object.values(benches).flatMap((b) => (b.ok ? b.figures : []));
}

async function main() {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      out: { type: 'string' },
      merge: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const benches = allBenches();
  if (values.list) {
    process.stdout.write(
      `${Object.entries(benches)
        .map(([n, b]) => `${n}\t${b.kind}`)
        .join('\n')}\n`,
    );
    return;
  }
  const names = values.only
    ? values.only
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : Object.keys(benches);
  const unknown = names.filter((n) => !benches[n]);
  if (unknown.length)
    throw new Error(
      `--only: unknown benchmark ${unknown.join(', ')} (known: ${Object.keys(benches).join(', ')})`,
    );
  const out = join(
    ROOT,
    values.out ?? (values.only && !values.merge ? 'bench/results.partial.json' : 'bench/results.json'),
  );
  mkdirSync(dirname(out), { recursive: true });

  const start = machine();
  const commit = git(['rev-parse', 'HEAD']);
  const dirty = git(['status', '--porcelain']) !== '';
  log(
    `commit ${commit.slice(0, 12)}${dirty ? ' (dirty)' : ''}, ${start.cores} cores, load ${start.loadavg.join(' ')}`,
  );
  log(`running ${names.length} benchmarks: ${names.join(', ')}${values.quick ? ' (quick)' : ''}`);
  const ran = {};
  const startedAt = new Date().toISOString();
  for (const [i, name] of names.entries()) {
    if (process.exitCode === 130) break;
    const load = os.loadavg().map((l) => round(l, 2));
    log(`(${i + 1}/${names.length}) ${name}: starting (load ${load.join(' ')})`);
    const result = await runOne(name, benches[name], values.quick);
    const loadEnd = os.loadavg().map((l) => round(l, 2));
    ran[name] = {
      ...result,
      kind: benches[name].kind,
      quick: values.quick,
      commit,
      startedAt: new Date(Date.now() - result.durationMs).toISOString(),
      loadavgStart: load,
      loadavgEnd: loadEnd,
    };
    log(
      `(${i + 1}/${names.length}) ${name}: ${result.ok ? `${result.figures.length} figures` : 'FAILED'} in ${(result.durationMs / 1000).toFixed(0)} s`,
    );
  }
  const end = machine();
  let benchesOut = ran;
  if (values.merge && existsSync(out)) {
    const previous = JSON.parse(readFileSync(out, 'utf8'));
    benchesOut = { ...previous.benches, ...ran };
  }
  const figures = flatten(benchesOut);
  const results = {
    schema: 1,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    commit,
    dirty,
    quick: values.quick,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { ...start, loadavg: undefined, loadavgStart: start.loadavg, loadavgEnd: end.loadavg },
    benches: benchesOut,
    figures,
    missed: figures.filter((f) => f.met === false).map((f) => f.name),
    failed: Object.entries(benchesOut)
      .filter(([, b]) => !b.ok)
      .map(([n]) => n),
  };
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  const summaryPath = join(dirname(out), out.endsWith('results.json') ? 'SUMMARY.md' : 'SUMMARY.partial.md');
  writeFileSync(summaryPath, summary(results));
  const headline = Object.fromEntries(
    figures.filter((f) => f.target).map((f) => [f.name, f.target.on === 'ratio' ? f.ratio : f.value]),
  );
  process.stdout.write(
    `${JSON.stringify({ results: relative(ROOT, out), summary: relative(ROOT, summaryPath), figures: figures.length, failed: results.failed, missed: results.missed, headline })}\n`,
  );
  if (results.failed.length) process.exitCode = 1;
}

main().catch((error) => {
  process.stderr.write(`bench: ${error.message}\n`);
  process.exitCode = 2;
});
