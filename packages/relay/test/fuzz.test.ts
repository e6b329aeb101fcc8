// Thousands of random byte streams against one relay: it must never throw, the well-behaved pair must keep
// forwarding throughout, every fuzz connection must be cleaned up and memory must stay bounded.
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Extension, encodeControl, encodeHello } from '../src/codec/extensions.js';
import { encodeData, encodeFrame, encodeRegister, FrameType } from '../src/codec/frame.js';
import { eventually, RawPeer } from './helpers/raw-peer.js';
import { keyPair, startRelay, type TestRelay } from './helpers/relay.js';

const STREAMS = 3000;
const CONCURRENCY = 48;

/** Deterministic PRNG (mulberry32) so a failure can be replayed from the seed. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (max: number) => Math.floor(next() * max),
    bytes: (size: number) => Buffer.from(Array.from({ length: size }, () => Math.floor(next() * 256))),
  };
}

type Rng = ReturnType<typeof prng>;
const TYPES = [...Object.values(FrameType), 0x00, 0x04, 0x7f, 0xfe];

function randomFrame(rng: Rng, keys: Buffer[]): Buffer {
  const type = TYPES[rng.int(TYPES.length)]!;
  switch (rng.int(5)) {
    case 0:
      return encodeData(keys[rng.int(keys.length)]!, rng.bytes(rng.int(1500)));
    case 3:
      // Control frames, well-formed or not (short of a key, or over the 1024-byte payload bound).
      return rng.int(2) === 0
        ? encodeControl(keys[rng.int(keys.length)]!, rng.bytes(rng.int(1025)))
        : encodeFrame(FrameType.Control, rng.bytes(rng.int(2) === 0 ? rng.int(32) : 1057 + rng.int(200)));
    case 1:
      return encodeFrame(type, rng.bytes(rng.int(80)));
    case 2:
      return encodeRegister(keys[rng.int(keys.length)]!);
    default:
      return encodeHello([Extension.Auth, Extension.Ping, Extension.Control, rng.int(256)]);
  }
}

/** One hostile or confused client's byte stream. */
function randomStream(rng: Rng, keys: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  switch (rng.int(6)) {
    case 0: // noise
      parts.push(rng.bytes(rng.int(4096)));
      break;
    case 1: // a plausible session that goes wrong
      parts.push(encodeRegister(keys[rng.int(keys.length)]!));
      if (rng.int(2) === 0) parts.push(encodeHello([Extension.Ping, Extension.Control]));
      for (let i = rng.int(20); i > 0; i--) parts.push(randomFrame(rng, keys));
      parts.push(rng.bytes(rng.int(64)));
      break;
    case 2: // out-of-range lengths
      parts.push(encodeRegister(rng.bytes(32)));
      parts.push(
        Buffer.from([rng.int(256), rng.int(256), rng.int(256), rng.int(256)]),
        rng.bytes(rng.int(100)),
      );
      break;
    case 3: // a maximal frame cut short
      parts.push(
        encodeRegister(rng.bytes(32)),
        Buffer.from([0, 1, 0, 0, FrameType.Data]),
        rng.bytes(rng.int(65535)),
      );
      break;
    case 4: // valid frames only, to known and unknown keys
      parts.push(encodeRegister(rng.bytes(32)));
      for (let i = rng.int(40); i > 0; i--)
        parts.push(encodeData(keys[rng.int(keys.length)]!, rng.bytes(rng.int(1400))));
      break;
    default: // random frames without Register first
      for (let i = rng.int(10); i > 0; i--) parts.push(randomFrame(rng, keys));
  }
  return Buffer.concat(parts);
}

async function play(port: number, stream: Buffer, rng: Rng): Promise<void> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  socket.resume();
  await once(socket, 'connect').catch(() => undefined);
  let at = 0;
  while (at < stream.length && !socket.destroyed) {
    const size = 1 + rng.int(3000);
    socket.write(stream.subarray(at, at + size));
    at += size;
    if (rng.int(4) === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  if (rng.int(2) === 0) socket.end();
  else socket.destroy();
  await once(socket, 'close');
}

describe('relay under random byte streams', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    // The source penalty off: every stream here comes from 127.0.0.1, and this test is about what the relay does
    // with the bytes (server-penalty.test.ts covers refusing a source that sends such streams).
    relay = await startRelay({
      maxQueueBytes: 1024 * 1024,
      handshakeTimeoutMs: 10_000,
      sourcePenaltyBurst: 0,
    });
  });
  afterAll(() => relay.close());

  it('never crashes, keeps the good pair forwarding, cleans up and stays bounded', async () => {
    const [a, b] = [keyPair(), keyPair()];
    const pa = await RawPeer.connect(relay.port);
    const pb = await RawPeer.connect(relay.port);
    pa.write(encodeRegister(a.publicKey));
    pb.write(encodeRegister(b.publicKey));
    // A second good pair that also speaks the control extension.
    const [c, d] = [keyPair(), keyPair()];
    const pc = await RawPeer.connect(relay.port);
    const pd = await RawPeer.connect(relay.port);
    pc.write(Buffer.concat([encodeRegister(c.publicKey), encodeHello([Extension.Control])]));
    pd.write(Buffer.concat([encodeRegister(d.publicKey), encodeHello([Extension.Control])]));
    await eventually(() => relay.server.registeredKeyCount === 4);
    const controlFromC = () =>
      pd.frames.filter((f) => f.type === FrameType.Control && f.body.subarray(0, 32).equals(c.publicKey));
    let controlSent = 0;

    const fromA = () =>
      pb.frames.filter((f) => f.type === FrameType.Data && f.body.subarray(0, 32).equals(a.publicKey));
    let sent = 0;
    let fuzzing = true;
    let maxCarried = 0;
    let maxQueued = 0;
    let maxConnections = 0;
    const steady = (async () => {
      while (fuzzing) {
        maxCarried = Math.max(maxCarried, relay.server.maxCarriedBytes);
        maxQueued = Math.max(maxQueued, relay.server.maxQueuedBytes);
        maxConnections = Math.max(maxConnections, relay.server.connectionCount);
        pa.write(encodeData(b.publicKey, Buffer.from(`steady ${sent++}`)));
        // Well under the per-connection control rate (100/s).
        if (sent % 4 === 0) pc.write(encodeControl(d.publicKey, Buffer.from(`control ${controlSent++}`)));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    const heapBefore = process.memoryUsage().heapUsed;
    const rng = prng(0x5eed);
    const keys = [a.publicKey, b.publicKey, keyPair().publicKey];
    let next = 0;
    const worker = async () => {
      while (next < STREAMS) {
        next++;
        await play(relay.port, randomStream(rng, keys), rng);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    fuzzing = false;
    await steady;

    // The well-behaved pair kept working all along: every steady frame arrived, in order.
    await pb.until(() => fromA().length >= sent, 10_000);
    const steadyTexts = fromA()
      .map((f) => f.body.subarray(32).toString())
      .filter((t) => t.startsWith('steady '));
    expect(steadyTexts).toEqual(Array.from({ length: sent }, (_, i) => `steady ${i}`));
    expect(pa.closed || pb.closed).toBe(false);
    await pd.until(() => controlFromC().length >= controlSent, 10_000);
    expect(controlFromC().map((f) => f.body.subarray(32).toString())).toEqual(
      Array.from({ length: controlSent }, (_, i) => `control ${i}`),
    );
    expect(pc.closed || pd.closed).toBe(false);
    // A core-only connection never sees a Control frame.
    expect(pb.frames.some((f) => f.type === FrameType.Control)).toBe(false);

    // Every fuzz connection is gone; only the pairs are registered.
    await eventually(() => relay.server.connectionCount === 4, 15_000);
    expect(relay.server.registeredKeyCount).toBe(4);
    expect(relay.server.stats.connectionsAccepted).toBe(STREAMS + 4);
    expect(relay.server.stats.protocolErrors).toBeGreaterThan(100);

    // Bounded: per connection at most one partial frame and one queue bound, and nothing held per closed
    // connection (3000 streams of up to ~70 KB went through).
    expect(maxCarried).toBeGreaterThan(0);
    expect(maxCarried).toBeLessThanOrEqual(65540);
    expect(maxQueued).toBeLessThanOrEqual(1024 * 1024 + 65540);
    expect(maxConnections).toBeLessThanOrEqual(CONCURRENCY + 4 + 50);
    const growth = process.memoryUsage().heapUsed - heapBefore;
    expect(growth).toBeLessThan(64 * 1024 * 1024);
    for (const p of [pa, pb, pc, pd]) p.destroy();
  }, 120_000);
});
