// Full-topology create+destroy time (the "< 10 s" target), median of several runs, against a baseline
// measured in the same run: the same hosts without control plane and STUN (pure namespace/nft work).
// Last line of output: one JSON object.
import { timeTopology } from '../src/timing.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

const full: number[] = [];
const apiServer: number[] = [];
const destroy: number[] = [];
const baseline: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const timing = await timeTopology({ controlPlane: true, stun: true });
  full.push(timing.totalMs);
  apiServer.push(timing.apiServerStartMs ?? 0);
  destroy.push(timing.destroyMs);
  baseline.push((await timeTopology({ controlPlane: false, stun: false })).totalMs);
  process.stderr.write(`run ${run + 1}/${RUNS}: full ${timing.totalMs.toFixed(0)} ms\n`);
}
const result = {
  bench: 'lab-full-topology',
  runs: RUNS,
  fullTopologyMs: Math.round(median(full)),
  apiServerStartMs: Math.round(median(apiServer)),
  destroyMs: Math.round(median(destroy)),
  networkOnlyMs: Math.round(median(baseline)),
  ratioFullToNetworkOnly: Number((median(full) / median(baseline)).toFixed(1)),
  targetMs: 10_000,
  withinTarget: median(full) < 10_000,
};
console.log(JSON.stringify(result));
