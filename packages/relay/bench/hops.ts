// npm run bench:hops -w @wirekube/relay
//
// Where the relayed round trip's time goes, hop by hop, against raw Node baselines measured in the same run.
// This process plays both WireGuards (two loopback UDP sockets, so each one-way time is read off one clock); every
// other part runs in its own process, ours (bench/proxy-agent.mjs: RelayClient + UdpProxy; dist/main.js: the relay
// program) or raw (bench/raw-hops.mjs: the least plain Node can do for that hop, same wire format). Paths:
//
//   udp              wg A ─UDP─► wg B                                   (the floor: kernel + this process)
//   udp-hop          wg A ─► one Node process (UDP in, UDP out) ─► wg B  (what any Node hop costs)
//   raw-pipe         wg A ─► raw agent A ─TCP─► raw agent B ─► wg B      (the proxy pair, no relay)
//   A/relay/B        wg A ─► agent A ─TCP─► relay ─TCP─► agent B ─► wg B, each part raw or ours
//
// A/relay/B = ours/raw/raw isolates our agent's halves: A→B is its UDP recv → frame → TCP write, B→A its TCP read
// → decode → UDP send, each against raw/raw/raw; raw/ours/raw isolates our relay's read → forward → write.
// One small datagram (128 bytes: a WireGuard packet carrying a ping) at a time, scenarios interleaved ping by ping
// (order rotating) so load drift hits all alike. Two phases: `idle` (BENCH_GAP_MS, default 2, between pings: each
// scenario's processes sleep ≈ 15 ms between packets, like the lab's ping every 20 ms, so each hop pays a
// wake-up) and `hot` (back to back). BENCH_PINGS per scenario and phase (default 400). BENCH_BEFORE=<another
// build's dist dir> adds that build's three `ours` paths to the same runs. Then a bulk phase (bulk.ts; BENCH_BULK_RUNS
// × BENCH_BULK_SECONDS, default 3 × 2 s, order rotating) gives each relayed path's throughput and the CPU per GB of
// each of its processes, ours against raw. Medians; last line one JSON object.
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { generateRawKeyPair, keyToBase64 } from '../src/auth/keys.js';
import { type BulkResult, throughput } from './bulk.js';
import { type Child, median, percentile, round, startChild, stopChild, udpSocket } from './children.js';

const here = dirname(fileURLToPath(import.meta.url));
const PINGS = Number(process.env.BENCH_PINGS ?? 400);
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 2);
const PING_SIZE = 128;
const BULK_RUNS = Number(process.env.BENCH_BULK_RUNS ?? 3);
const BULK_SECONDS = Number(process.env.BENCH_BULK_SECONDS ?? 2);
const RAW = join(here, 'raw-hops.mjs');

type Part = 'raw' | 'ours';

interface Scenario {
  name: string;
  /** Where wg A sends to reach B, and where wg B sends to reach A. */
  toB: number;
  toA: number;
  samples: { ab: number[]; ba: number[] };
  lost: number;
}

const children: Child[] = [];
async function child(args: string[], key: string): Promise<Record<string, unknown>> {
  const started = await startChild(args, key);
  children.push(started);
  return { ...started.ready, pid: started.child.pid };
}

const wgA = await udpSocket();
const wgB = await udpSocket();
const portOf = (socket: typeof wgA) => socket.address().port;

interface Relayed {
  ports: [number, number];
  /** Agent A, agent B, relay. */
  pids: [number, number, number];
}

async function relayed(agentA: Part, relay: Part, agentB: Part, dist: string): Promise<Relayed> {
  const relayReady =
    relay === 'raw'
      ? await child([RAW, 'relay'], 'port')
      : await child(
          [join(dist, 'main.js'), '--port', '0', '--http-port', '0', '--listen-address', '127.0.0.1'],
          'port',
        );
  const relayPort = String(relayReady.port);
  const [a, b] = [generateRawKeyPair(), generateRawKeyPair()];
  const agent = (part: Part, own: typeof a, peer: typeof a, wgPort: number) =>
    child(
      part === 'raw'
        ? [
            RAW,
            'agent',
            'relay',
            relayPort,
            keyToBase64(own.publicKey),
            keyToBase64(peer.publicKey),
            `${wgPort}`,
          ]
        : [
            join(here, 'proxy-agent.mjs'),
            dist,
            relayPort,
            keyToBase64(own.privateKey),
            keyToBase64(peer.publicKey),
            String(wgPort),
          ],
      'proxyPort',
    );
  const readyA = await agent(agentA, a, b, portOf(wgA));
  const readyB = await agent(agentB, b, a, portOf(wgB));
  return {
    ports: [Number(readyA.proxyPort), Number(readyB.proxyPort)],
    pids: [Number(readyA.pid), Number(readyB.pid), Number(relayReady.pid)],
  };
}

async function rawPipe(): Promise<[number, number]> {
  const [a, b] = [generateRawKeyPair(), generateRawKeyPair()];
  const keys = (own: typeof a, peer: typeof a) => [keyToBase64(own.publicKey), keyToBase64(peer.publicKey)];
  const listener = await child(
    [RAW, 'agent', 'listen', '0', ...keys(b, a), String(portOf(wgB))],
    'proxyPort',
  );
  const connector = await child(
    [RAW, 'agent', 'connect', String(listener.tcpPort), ...keys(a, b), String(portOf(wgA))],
    'proxyPort',
  );
  return [Number(connector.proxyPort), Number(listener.proxyPort)];
}

const scenario = (name: string, [toB, toA]: [number, number]): Scenario => ({
  name,
  toB,
  toA,
  samples: { ab: [], ba: [] },
  lost: 0,
});

/** One datagram A → B and straight back B → A on the same path; one-way times in µs (undefined = lost). */
async function ping(path: Scenario, seq: number): Promise<{ ab: number; ba: number } | undefined> {
  const message = Buffer.alloc(PING_SIZE, 0x04);
  message.writeUInt32BE(seq);
  let atB = 0;
  const echo = (received: Buffer) => {
    if (received.length !== PING_SIZE || received.readUInt32BE(0) !== seq) return;
    atB = performance.now();
    wgB.send(received, path.toA, '127.0.0.1');
  };
  wgB.on('message', echo);
  let sentAt = 0;
  try {
    const back = await Promise.race([
      new Promise<number>((resolve) => {
        const onMessage = (received: Buffer) => {
          if (received.length !== PING_SIZE || received.readUInt32BE(0) !== seq) return;
          wgA.off('message', onMessage);
          resolve(performance.now());
        };
        wgA.on('message', onMessage);
        sentAt = performance.now();
        wgA.send(message, path.toB, '127.0.0.1');
      }),
      sleep(1000).then(() => undefined),
    ]);
    if (back === undefined || atB === 0) return undefined;
    return { ab: (atB - sentAt) * 1000, ba: (back - atB) * 1000 };
  } finally {
    wgB.off('message', echo);
    wgA.removeAllListeners('message');
  }
}

async function phase(scenarios: Scenario[], gapMs: number): Promise<void> {
  for (let round = 0; round < PINGS; round++) {
    for (let i = 0; i < scenarios.length; i++) {
      const path = scenarios[(round + i) % scenarios.length]!;
      const result = await ping(path, round * scenarios.length + i);
      if (result === undefined) path.lost++;
      else {
        path.samples.ab.push(result.ab);
        path.samples.ba.push(result.ba);
      }
      if (gapMs > 0) await sleep(gapMs);
    }
  }
}

const dist = join(here, '../dist');
const before = process.env.BENCH_BEFORE;
try {
  /** The relayed paths, for the bulk phase. */
  const bulkPaths: Array<{ name: string; path: Relayed }> = [];
  const viaRelay = async (name: string, parts: [Part, Part, Part], build: string) => {
    const path = await relayed(...parts, build);
    bulkPaths.push({ name, path });
    return scenario(name, path.ports);
  };
  const build = async () => {
    const hopPort = Number((await child([RAW, 'udp-hop', `${portOf(wgA)}`, `${portOf(wgB)}`], 'port')).port);
    const list: Scenario[] = [
      scenario('udp', [portOf(wgB), portOf(wgA)]),
      scenario('udp-hop', [hopPort, hopPort]),
      scenario('raw-pipe', await rawPipe()),
      await viaRelay('raw/raw/raw', ['raw', 'raw', 'raw'], dist),
      await viaRelay('ours/raw/raw', ['ours', 'raw', 'raw'], dist),
      await viaRelay('raw/ours/raw', ['raw', 'ours', 'raw'], dist),
      await viaRelay('ours/ours/ours', ['ours', 'ours', 'ours'], dist),
    ];
    if (before) {
      list.push(await viaRelay('before:ours/raw/raw', ['ours', 'raw', 'raw'], before));
      list.push(await viaRelay('before:raw/ours/raw', ['raw', 'ours', 'raw'], before));
      list.push(await viaRelay('before:ours/ours/ours', ['ours', 'ours', 'ours'], before));
    }
    return list;
  };
  const phases = { idle: await build(), hot: [] as Scenario[] };
  phases.hot = phases.idle.map((s) => scenario(s.name, [s.toB, s.toA]));
  const loadStart = loadavg()[0] ?? 0;
  // JIT warm-up of every process, not counted.
  await phase(
    phases.hot.map((s) => scenario(s.name, [s.toB, s.toA])),
    0,
  );
  await phase(phases.idle, GAP_MS);
  await phase(phases.hot, 0);
  const summary: Record<string, unknown> = {
    bench: 'relay-hops',
    pings: PINGS,
    gapMs: GAP_MS,
    datagramBytes: PING_SIZE,
    load1: [round(loadStart, 1), round(loadavg()[0] ?? 0, 1)],
  };
  for (const [name, scenarios] of Object.entries(phases)) {
    const p50 = new Map(
      scenarios.map((s) => [s.name, { ab: median(s.samples.ab), ba: median(s.samples.ba) }] as const),
    );
    const oneWay = (path: string, dir: 'ab' | 'ba') => p50.get(path)?.[dir] ?? Number.NaN;
    const delta = (path: string, base: string, dir: 'ab' | 'ba') =>
      round(oneWay(path, dir) - oneWay(base, dir), 0);
    const hops: Record<string, number> = {
      // Raw Node: what the design costs before any code of ours.
      nodeUdpHop: delta('udp-hop', 'udp', 'ab'),
      rawProxyPair: delta('raw-pipe', 'udp', 'ab'),
      rawRelayHop: delta('raw/raw/raw', 'raw-pipe', 'ab'),
      rawRelayedOneWay: delta('raw/raw/raw', 'udp', 'ab'),
      // Ours over raw, per hop (µs; negative = faster than the raw baseline).
      oursSenderHalf: delta('ours/raw/raw', 'raw/raw/raw', 'ab'),
      oursReceiverHalf: delta('ours/raw/raw', 'raw/raw/raw', 'ba'),
      oursRelayAB: delta('raw/ours/raw', 'raw/raw/raw', 'ab'),
      oursRelayBA: delta('raw/ours/raw', 'raw/raw/raw', 'ba'),
      oursOverRawRoundTrip: round(
        oneWay('ours/ours/ours', 'ab') +
          oneWay('ours/ours/ours', 'ba') -
          oneWay('raw/raw/raw', 'ab') -
          oneWay('raw/raw/raw', 'ba'),
        0,
      ),
    };
    if (before) {
      hops.beforeSenderHalf = delta('before:ours/raw/raw', 'raw/raw/raw', 'ab');
      hops.beforeReceiverHalf = delta('before:ours/raw/raw', 'raw/raw/raw', 'ba');
      hops.beforeRelayAB = delta('before:raw/ours/raw', 'raw/raw/raw', 'ab');
      hops.beforeOverRawRoundTrip = round(
        oneWay('before:ours/ours/ours', 'ab') +
          oneWay('before:ours/ours/ours', 'ba') -
          oneWay('raw/raw/raw', 'ab') -
          oneWay('raw/raw/raw', 'ba'),
        0,
      );
    }
    summary[name] = {
      oneWayP50Us: Object.fromEntries(
        scenarios.map((s) => [
          s.name,
          {
            ab: round(median(s.samples.ab), 0),
            ba: round(median(s.samples.ba), 0),
            rttP90: round(
              percentile(
                s.samples.ab.map((ab, i) => ab + s.samples.ba[i]!),
                90,
              ),
              0,
            ),
            lost: s.lost,
          },
        ]),
      ),
      hopsUs: hops,
    };
    process.stderr.write(`${name}: ${JSON.stringify(summary[name])}\n`);
  }
  // Bulk: what each relayed path carries and the CPU per GB of each of its processes, against raw/raw/raw.
  const bulk = new Map(bulkPaths.map(({ name }) => [name, [] as BulkResult[]]));
  for (let run = 0; run < BULK_RUNS; run++) {
    for (let i = 0; i < bulkPaths.length; i++) {
      const { name, path } = bulkPaths[(run + i) % bulkPaths.length]!;
      bulk.get(name)!.push(await throughput({ wgA, wgB, toB: path.ports[0], pids: path.pids }, BULK_SECONDS));
    }
  }
  summary.bulk = Object.fromEntries(
    [...bulk].map(([name, runs]) => {
      const pick = (key: keyof BulkResult, digits = 0) => round(median(runs.map((r) => r[key])), digits);
      return [
        name,
        {
          mbps: pick('mbps', 1),
          senderAgentCpuMsPerGB: pick('senderAgentCpuMsPerGB'),
          receiverAgentCpuMsPerGB: pick('receiverAgentCpuMsPerGB'),
          relayCpuMsPerGB: pick('relayCpuMsPerGB'),
          lossPerMille: pick('lossPerMille', 2),
        },
      ];
    }),
  );
  summary.load1End = round(loadavg()[0] ?? 0, 1);
  console.log(JSON.stringify(summary));
} finally {
  await Promise.all(children.map((c) => stopChild(c.child)));
  wgA.close();
  wgB.close();
}
