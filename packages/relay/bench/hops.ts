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
//   A/relay/B        wg A ─► agent A ─TCP─► relay ─TCP─► agent B ─► wg B, each part raw, ours or go
//
// `go` parts (bench/raw-go: the same roles, command line and frames in Go, built with `go build` at start; skipped
// with the reason printed when that fails) ask whether a native relay-link would cross a process cheaper than Node
// on this machine: udp-hop(go), raw-pipe(go), go/raw/go, go/ours/go (Go relay-links around our Node relay: the
// candidate design), go/go/go; `gob` is the Go agent batched (recvmmsg + one writev per batch, sendmmsg per TCP read).
// The idle round trips give a projection of the lab's ping ratio (BENCH_LAB_DIRECT_MS, BENCH_LAB_RELAYED_MS).
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
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { generateRawKeyPair, keyToBase64 } from '../src/auth/keys.js';
import { type BulkRunResult, bulkRun } from './bulk.js';
import { type Child, median, percentile, round, startProgram, stopChild, udpSocket } from './children.js';

const here = dirname(fileURLToPath(import.meta.url));
const PINGS = Number(process.env.BENCH_PINGS ?? 400);
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 2);
const PING_SIZE = 128;
const BULK_RUNS = Number(process.env.BENCH_BULK_RUNS ?? 3);
const BULK_SECONDS = Number(process.env.BENCH_BULK_SECONDS ?? 2);
const RAW = join(here, 'raw-hops.mjs');
// The lab's relayed and direct ping p50 (e2e bench:relay-path) that the projection starts from.
const LAB_DIRECT_MS = Number(process.env.BENCH_LAB_DIRECT_MS ?? 0.61);
const LAB_RELAYED_MS = Number(process.env.BENCH_LAB_RELAYED_MS ?? 1.7);

/** raw = raw-hops.mjs (Node), go / gob = bench/raw-go unbatched / batched, ours = the package. */
type RawPart = 'raw' | 'go' | 'gob';
type Part = RawPart | 'ours';

/** Builds bench/raw-go for this run; undefined (reason printed) when there is no working Go toolchain. */
function buildGo(dir: string): { binary?: string; skipped?: string } {
  const binary = join(dir, 'rawhops');
  const built = spawnSync('go', ['build', '-o', binary, '.'], {
    cwd: join(here, 'raw-go'),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const skipped =
    built.error !== undefined
      ? `go build: ${built.error.message}`
      : built.status !== 0
        ? `go build in bench/raw-go exited ${built.status}`
        : undefined;
  if (skipped === undefined) return { binary };
  process.stderr.write(`go scenarios skipped: ${skipped}\n`);
  return { skipped };
}
const goDir = mkdtempSync(join(tmpdir(), 'wirekube-rawhops-'));
const go = buildGo(goDir);

interface Scenario {
  name: string;
  /** Where wg A sends to reach B, and where wg B sends to reach A. */
  toB: number;
  toA: number;
  samples: { ab: number[]; ba: number[] };
  lost: number;
}

const children: Child[] = [];
async function child(
  command: string,
  args: string[],
  key: string,
  env: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const started = await startProgram(command, args, key, env);
  children.push(started);
  return { ...started.ready, pid: started.child.pid };
}
const node = (args: string[], key: string) => child(process.execPath, args, key);
/** One role of raw-hops.mjs or of its Go twin, which share the command line. */
const raw = (part: RawPart, args: string[], key: string) =>
  part === 'raw'
    ? node([RAW, ...args], key)
    : child(go.binary!, args, key, part === 'gob' ? { RAWGO_BATCH: '1' } : {});

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
    relay === 'ours'
      ? await node(
          [join(dist, 'main.js'), '--port', '0', '--http-port', '0', '--listen-address', '127.0.0.1'],
          'port',
        )
      : await raw(relay, ['relay'], 'port');
  const relayPort = String(relayReady.port);
  const [a, b] = [generateRawKeyPair(), generateRawKeyPair()];
  const agent = (part: Part, own: typeof a, peer: typeof a, wgPort: number) =>
    part === 'ours'
      ? node(
          [
            join(here, 'proxy-agent.mjs'),
            dist,
            relayPort,
            keyToBase64(own.privateKey),
            keyToBase64(peer.publicKey),
            String(wgPort),
          ],
          'proxyPort',
        )
      : raw(
          part,
          ['agent', 'relay', relayPort, keyToBase64(own.publicKey), keyToBase64(peer.publicKey), `${wgPort}`],
          'proxyPort',
        );
  const readyA = await agent(agentA, a, b, portOf(wgA));
  const readyB = await agent(agentB, b, a, portOf(wgB));
  return {
    ports: [Number(readyA.proxyPort), Number(readyB.proxyPort)],
    pids: [Number(readyA.pid), Number(readyB.pid), Number(relayReady.pid)],
  };
}

async function rawPipe(part: RawPart): Promise<[number, number]> {
  const [a, b] = [generateRawKeyPair(), generateRawKeyPair()];
  const keys = (own: typeof a, peer: typeof a) => [keyToBase64(own.publicKey), keyToBase64(peer.publicKey)];
  const listener = await raw(part, ['agent', 'listen', '0', ...keys(b, a), String(portOf(wgB))], 'proxyPort');
  const connector = await raw(
    part,
    ['agent', 'connect', String(listener.tcpPort), ...keys(a, b), String(portOf(wgA))],
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
    const udpHop = async (part: RawPart): Promise<[number, number]> => {
      const port = Number((await raw(part, ['udp-hop', `${portOf(wgA)}`, `${portOf(wgB)}`], 'port')).port);
      return [port, port];
    };
    const list: Scenario[] = [
      scenario('udp', [portOf(wgB), portOf(wgA)]),
      scenario('udp-hop', await udpHop('raw')),
      scenario('raw-pipe', await rawPipe('raw')),
      await viaRelay('raw/raw/raw', ['raw', 'raw', 'raw'], dist),
      await viaRelay('ours/raw/raw', ['ours', 'raw', 'raw'], dist),
      await viaRelay('raw/ours/raw', ['raw', 'ours', 'raw'], dist),
      await viaRelay('ours/ours/ours', ['ours', 'ours', 'ours'], dist),
    ];
    if (go.binary) {
      list.push(scenario('udp-hop(go)', await udpHop('go')));
      list.push(scenario('raw-pipe(go)', await rawPipe('go')));
      list.push(await viaRelay('go/raw/go', ['go', 'raw', 'go'], dist));
      list.push(await viaRelay('go/ours/go', ['go', 'ours', 'go'], dist));
      list.push(await viaRelay('go/go/go', ['go', 'go', 'go'], dist));
      list.push(await viaRelay('gob/ours/gob', ['gob', 'ours', 'gob'], dist));
      list.push(await viaRelay('gob/gob/gob', ['gob', 'gob', 'gob'], dist));
    }
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
    go: go.binary ? 'built' : { skipped: go.skipped },
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
    const roundTrip = (path: string) => oneWay(path, 'ab') + oneWay(path, 'ba');
    const roundTrips: Record<string, number> = {};
    let projection: Record<string, number> | undefined;
    if (go.binary) {
      // Go, per hop, over the same baselines as the raw Node figures above.
      hops.goUdpHop = delta('udp-hop(go)', 'udp', 'ab');
      hops.goProxyPair = delta('raw-pipe(go)', 'udp', 'ab');
      hops.goRelayHop = delta('go/go/go', 'raw-pipe(go)', 'ab');
      hops.goRelayedOneWay = delta('go/go/go', 'udp', 'ab');
      hops.goAgentsOurRelayOneWay = delta('go/ours/go', 'udp', 'ab');
      hops.oursRelayedOneWay = delta('ours/ours/ours', 'udp', 'ab');
      for (const path of ['udp', 'raw/raw/raw', 'ours/ours/ours', 'go/ours/go', 'gob/ours/gob', 'go/go/go'])
        roundTrips[path] = round(roundTrip(path), 0);
      // What Go relay-links around our relay would make of the lab's relayed ping: the lab's relayed − direct,
      // (a) less the round-trip time they save here, (b) scaled by what they leave of the relayed extra here.
      const saved = roundTrip('ours/ours/ours') - roundTrip('go/ours/go');
      const left =
        (roundTrip('go/ours/go') - roundTrip('udp')) / (roundTrip('ours/ours/ours') - roundTrip('udp'));
      const minus = LAB_RELAYED_MS - saved / 1000;
      const scaled = LAB_DIRECT_MS + (LAB_RELAYED_MS - LAB_DIRECT_MS) * left;
      projection = {
        labDirectMs: LAB_DIRECT_MS,
        labRelayedMs: LAB_RELAYED_MS,
        savedRoundTripUs: round(saved, 0),
        extraLeft: round(left, 2),
        relayedMsMinusSaved: round(minus, 2),
        ratioMinusSaved: round(minus / LAB_DIRECT_MS, 2),
        relayedMsScaled: round(scaled, 2),
        ratioScaled: round(scaled / LAB_DIRECT_MS, 2),
      };
    }
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
      ...(go.binary ? { roundTripP50Us: roundTrips, goRelayLinksProjection: projection } : {}),
    };
    process.stderr.write(`${name}: ${JSON.stringify(summary[name])}\n`);
  }
  // Bulk: what each relayed path carries and the CPU per GB of each of its processes, against raw/raw/raw.
  const bulk = new Map(bulkPaths.map(({ name }) => [name, [] as BulkRunResult[]]));
  let keepalive = 0x7000_0000;
  for (let run = 0; run < BULK_RUNS; run++) {
    for (let i = 0; i < bulkPaths.length; i++) {
      // A ping both ways on every path first: a receiving agent sends nothing during bulk, and our relay closes a
      // core connection silent for 75 s (the raw and Go agents send no Keepalive), which the bulk phase can outlast.
      for (const s of phases.hot) await ping(s, keepalive++);
      const { name, path } = bulkPaths[(run + i) % bulkPaths.length]!;
      bulk.get(name)!.push(await bulkRun({ wgA, wgB, toB: path.ports[0], pids: path.pids }, BULK_SECONDS));
    }
  }
  summary.bulk = Object.fromEntries(
    [...bulk].map(([name, runs]) => {
      const pick = (key: keyof BulkRunResult, digits = 0) => round(median(runs.map((r) => r[key])), digits);
      return [
        name,
        {
          mbps: pick('mbps', 1),
          senderAgentCpuMsPerGB: pick('senderAgentCpuMsPerGB'),
          receiverAgentCpuMsPerGB: pick('receiverAgentCpuMsPerGB'),
          relayCpuMsPerGB: pick('relayCpuMsPerGB'),
          senderAgentSystemMsPerGB: pick('senderAgentSystemMsPerGB'),
          receiverAgentSystemMsPerGB: pick('receiverAgentSystemMsPerGB'),
          relaySystemMsPerGB: pick('relaySystemMsPerGB'),
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
  rmSync(goDir, { recursive: true, force: true });
}
