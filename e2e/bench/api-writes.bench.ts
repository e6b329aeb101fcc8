// API writes per node per hour in steady state (DESIGN's write budget: ≤ 6), counted by the real API server:
// apiserver_request_total by resource and verb. A 10-node mesh (BENCH_NODES; public, cone and symmetric hosts
// in turn, relay mode auto) forms, settles, and is then watched for 10 minutes (BENCH_WINDOW_S; --quick: 60 s).
// Baseline, same run: the control plane's own writes (its identity Lease) before any agent starts, per hour; it
// is subtracted, per resource and verb, from the window's counts. Last line of output: one JSON report (lib/report.ts).
import { apiServerMetrics, writesByResource } from './lib/apiserver.js';
import { mixedHosts, waitFormed } from './lib/formation.js';
import { createMeshLab } from './lib/mesh-lab.js';
import { delta, total } from './lib/prom.js';
import { emit, figure, progress, QUICK } from './lib/report.js';

const BENCH = 'api-writes';
const NODES = Number(process.env.BENCH_NODES ?? 10);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? (QUICK ? 60 : 600));
const BACKGROUND_S = QUICK ? 20 : 60;
const SETTLE_S = QUICK ? 20 : 60;

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));
const writes = async (lab: Parameters<typeof apiServerMetrics>[0]) =>
  writesByResource(await apiServerMetrics(lab));

const meshLab = await createMeshLab({ hosts: mixedHosts(NODES), mode: 'auto', startAgents: false });
try {
  const { lab, mesh, nodes } = meshLab;
  const b0 = await writes(lab);
  await sleep(BACKGROUND_S);
  const background = delta(b0, await writes(lab));
  const backgroundPerHour = (total(background) * 3600) / BACKGROUND_S;
  progress(BENCH, `background: ${JSON.stringify(Object.fromEntries(background))} in ${BACKGROUND_S} s`);

  const spawnedAt = Date.now();
  for (const h of nodes) mesh.startAgent(h);
  const formedMs = await waitFormed(nodes, spawnedAt, 600_000, (s) => progress(BENCH, JSON.stringify(s)));
  progress(BENCH, `formed in ${formedMs} ms; settling ${SETTLE_S} s, then counting for ${WINDOW_S} s`);
  await sleep(SETTLE_S);
  const w0 = await writes(lab);
  const windowStart = Date.now();
  while (Date.now() - windowStart < WINDOW_S * 1000) {
    await sleep(Math.min(60, WINDOW_S));
    progress(
      BENCH,
      `+${Math.round((Date.now() - windowStart) / 1000)} s: ${total(delta(w0, await writes(lab)))} writes`,
    );
  }
  const windowS = (Date.now() - windowStart) / 1000;
  const inWindow = delta(w0, await writes(lab));
  // The background is subtracted per resource and verb (never below zero), so a quiet minute of the control
  // plane's own Lease cannot hide a write by an agent.
  let meshWrites = 0;
  for (const [key, count] of inWindow) {
    const expected = ((background.get(key) ?? 0) * windowS) / BACKGROUND_S;
    meshWrites += Math.max(0, count - expected);
  }
  const perNodePerHour = (meshWrites * 3600) / windowS / NODES;
  const restarts = [...mesh.agents.values()].filter((a) => a.process.done).length;
  emit({
    bench: BENCH,
    quick: QUICK,
    figures: [
      figure({
        name: 'api-writes.per-node-hour',
        value: perNodePerHour,
        unit: 'writes/node/h',
        baseline: {
          what: "the control plane's own writes before agents start, per hour",
          value: backgroundPerHour,
          unit: 'writes/h',
        },
        target: { on: 'value', op: '<=', value: 6, source: 'DESIGN write budget, issue 15' },
        note: `${NODES} nodes, steady state over ${Math.round(windowS)} s after formation + ${SETTLE_S} s; by resource/subresource/verb: ${JSON.stringify(Object.fromEntries(inWindow))}`,
      }),
    ],
    details: {
      nodes: NODES,
      windowS,
      formedMs,
      writesInWindow: Object.fromEntries(inWindow),
      background: Object.fromEntries(background),
      backgroundS: BACKGROUND_S,
      agentsExited: restarts,
    },
  });
} finally {
  await meshLab.close();
}
