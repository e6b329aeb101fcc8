// Cold start: N = 10 and N = 20 hosts (public, cone and symmetric NAT in turn, every NATed host behind its own
// router), relay mode auto with the schema's default timers, the project's relay program. Measured from the
// moment every agent is spawned until every ordered pair has a WireGuard handshake and pings; the baseline is
// the same agents' own start-up (spawned → every one logged "agent started"), from the same run.
// BENCH_SIZES overrides the sizes (e.g. "4,6"). Last line of output: one JSON report (lib/report.ts).
import { formation, mixedHosts, waitFormed } from './lib/formation.js';
import { createMeshLab } from './lib/mesh-lab.js';
import { emit, type Figure, figure, progress, QUICK } from './lib/report.js';

const BENCH = 'cold-start';
const SIZES = (process.env.BENCH_SIZES ?? (QUICK ? '4' : '10,20')).split(',').map(Number);

const figures: Figure[] = [];
const details: Record<string, unknown> = {};
for (const size of SIZES) {
  const meshLab = await createMeshLab({ hosts: mixedHosts(size), mode: 'auto', startAgents: false });
  try {
    const { mesh, nodes } = meshLab;
    const spawnedAt = Date.now();
    const agents = nodes.map((h) => mesh.startAgent(h));
    const startedAt = Promise.all(agents.map((a) => mesh.waitStarted(a, 300_000))).then(
      () => Date.now() - spawnedAt,
    );
    const formedMs = await waitFormed(nodes, spawnedAt, 600_000, (s) =>
      progress(BENCH, `N=${size} +${((Date.now() - spawnedAt) / 1000).toFixed(1)} s: ${JSON.stringify(s)}`),
    );
    const agentsStartedMs = await startedAt;
    // How long one look at the whole mesh takes: the resolution of formedMs.
    const checkStart = Date.now();
    await formation(nodes);
    const checkMs = Date.now() - checkStart;
    progress(BENCH, `N=${size}: formed in ${formedMs} ms (agents started in ${agentsStartedMs} ms)`);
    const relayed = (await mesh.peers()).reduce(
      (sum, p) => sum + Object.values(p.status?.peerTransports ?? {}).filter((t) => t === 'relay').length,
      0,
    );
    figures.push(
      figure({
        name: `cold-start.n${size}`,
        value: formedMs / 1000,
        unit: 's',
        baseline: {
          what: 'the same agents starting (spawned → all logged "agent started")',
          value: agentsStartedMs / 1000,
        },
        note: `${size} hosts (${nodes.map((h) => h.nat).join(',')}), ${size * (size - 1)} ordered pairs, ${relayed} relayed; mode auto, handshakeTimeoutSeconds 30 (default); one look at the mesh takes ${checkMs} ms`,
      }),
    );
    details[`n${size}`] = { formedMs, agentsStartedMs, checkMs, relayedPairs: relayed };
  } finally {
    await meshLab.close();
  }
}
emit({ bench: BENCH, quick: QUICK, figures, details });
