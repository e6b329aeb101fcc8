// Added latency per relay hop: ping p50/p99 through the tunnel between the same two agents (cone1, cone2 behind
// their own cone NATs), direct (mode never) vs relayed (mode always, the project's relay program), alternating
// within each run; medians over BENCH_RUNS. Last line of output: one JSON report (lib/report.ts).
import { createMeshLab, pairIs, type RelayMode } from './lib/mesh-lab.js';
import { ping } from './lib/ping.js';
import { emit, figure, progress, QUICK } from './lib/report.js';
import { median, percentile } from './lib/stats.js';

const BENCH = 'latency';
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 3));
const COUNT = QUICK ? 100 : 300;
const INTERVAL_S = 0.01;

const meshLab = await createMeshLab({
  hosts: [
    { name: 'cone1', nat: 'cone', lan: 'lan1' },
    { name: 'cone2', nat: 'cone', lan: 'lan2' },
  ],
  mode: 'never',
});
try {
  const [a, b] = meshLab.nodes as [(typeof meshLab.nodes)[0], (typeof meshLab.nodes)[0]];
  const samples = {
    direct: { p50: [] as number[], p99: [] as number[] },
    relay: { p50: [] as number[], p99: [] as number[] },
  };
  for (let run = 0; run < RUNS; run++) {
    const order: RelayMode[] = run % 2 === 0 ? ['never', 'always'] : ['always', 'never'];
    for (const mode of order) {
      const path = mode === 'never' ? 'direct' : 'relay';
      await meshLab.setMode(mode);
      await pairIs(meshLab, a, b, path, 90_000);
      const { rttsMs } = await ping(a, b.address, { count: COUNT, intervalS: INTERVAL_S });
      samples[path].p50.push(percentile(rttsMs, 50));
      samples[path].p99.push(percentile(rttsMs, 99));
      progress(
        BENCH,
        `run ${run + 1}/${RUNS} ${path}: p50 ${percentile(rttsMs, 50)} ms p99 ${percentile(rttsMs, 99)} ms (${rttsMs.length}/${COUNT} replies)`,
      );
    }
  }
  const note = `ping ${COUNT} × ${INTERVAL_S * 1000} ms through wire_kube, cone1→cone2, × ${RUNS} runs`;
  const direct = { p50: median(samples.direct.p50), p99: median(samples.direct.p99) };
  const relay = { p50: median(samples.relay.p50), p99: median(samples.relay.p99) };
  emit({
    bench: BENCH,
    quick: QUICK,
    figures: [
      figure({
        name: 'latency.direct.p50',
        value: direct.p50,
        unit: 'ms',
        samples: samples.direct.p50,
        note,
      }),
      figure({
        name: 'latency.direct.p99',
        value: direct.p99,
        unit: 'ms',
        samples: samples.direct.p99,
        note,
      }),
      figure({
        name: 'latency.relayed.p50',
        value: relay.p50,
        unit: 'ms',
        baseline: { what: 'direct p50, same pair, same run', value: direct.p50 },
        target: { on: 'ratio', op: '<=', value: 2, source: 'issue 10 (relay-path: ping p50 ≤ 2× direct)' },
        samples: samples.relay.p50,
        note,
      }),
      figure({
        name: 'latency.relayed.p99',
        value: relay.p99,
        unit: 'ms',
        baseline: { what: 'direct p99, same pair, same run', value: direct.p99 },
        samples: samples.relay.p99,
        note,
      }),
      figure({
        name: 'latency.relay-hop.added-p50',
        value: relay.p50 - direct.p50,
        unit: 'ms',
        baseline: { what: 'direct p50', value: direct.p50 },
        note: 'relayed p50 − direct p50: what one relay hop (proxy → TCP → relay → TCP → proxy) adds',
      }),
    ],
  });
} finally {
  await meshLab.close();
}
