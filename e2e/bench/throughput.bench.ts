// Tunnel throughput ceiling: iperf3 (BENCH_SECONDS, default 10 s; BENCH_RUNS, default 3) between two public lab
// hosts over plain veth (the ceiling) and through wireguard-go configured by hand on the same two hosts,
// alternating within each run. The relayed-vs-direct figure with real agents comes from relay-path.bench.ts
// (scripts/bench.mjs runs both). Last line of output: one JSON report (lib/report.ts).
import { createLab, wgKeys, wgUp } from '../src/index.js';
import { iperf, iperfServer } from './lib/iperf.js';
import { emit, figure, progress, QUICK } from './lib/report.js';
import { median } from './lib/stats.js';

const BENCH = 'throughput';
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 3));
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 3 : 10));

const lab = await createLab({
  hosts: [
    { name: 'a', nat: 'none' },
    { name: 'b', nat: 'none' },
  ],
});
try {
  const [a, b] = [lab.host('a'), lab.host('b')];
  const [ka, kb] = await Promise.all([wgKeys(a), wgKeys(b)]);
  await wgUp(a, {
    iface: 'wg0',
    keys: ka,
    listenPort: 51820,
    address: '10.77.0.1/24',
    peers: [{ publicKey: kb.publicKey, endpoint: `${b.address}:51820`, allowedIPs: ['10.77.0.2/32'] }],
  });
  await wgUp(b, {
    iface: 'wg0',
    keys: kb,
    listenPort: 51820,
    address: '10.77.0.2/24',
    peers: [{ publicKey: ka.publicKey, endpoint: `${a.address}:51820`, allowedIPs: ['10.77.0.1/32'] }],
  });
  await a.exec(['ping', '-c', '3', '-i', '0.2', '-W', '6', '10.77.0.2']);
  const server = iperfServer(b, '0.0.0.0');
  const veth: number[] = [];
  const wireguard: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const order = run % 2 === 0 ? (['veth', 'wg'] as const) : (['wg', 'veth'] as const);
    for (const path of order) {
      const mbps = await iperf(a, path === 'veth' ? b.address : '10.77.0.2', SECONDS);
      (path === 'veth' ? veth : wireguard).push(mbps);
      progress(BENCH, `run ${run + 1}/${RUNS} ${path}: ${mbps.toFixed(0)} Mbit/s`);
    }
  }
  await server.stop();
  emit({
    bench: BENCH,
    quick: QUICK,
    figures: [
      figure({
        name: 'throughput.veth',
        value: median(veth),
        unit: 'Mbit/s',
        samples: veth,
        note: `iperf3 ${SECONDS} s × ${RUNS}, plain veth through the lab internet bridge: the ceiling`,
      }),
      figure({
        name: 'throughput.wireguard-go',
        value: median(wireguard),
        unit: 'Mbit/s',
        baseline: { what: 'plain veth, same hosts, same run', value: median(veth) },
        samples: wireguard,
        note: `iperf3 ${SECONDS} s × ${RUNS}, wireguard-go configured by hand (no agent)`,
      }),
    ],
  });
} finally {
  await lab.destroy();
}
