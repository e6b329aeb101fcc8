import { afterEach, describe, expect, it } from 'vitest';
import { computeProof } from '../src/auth/proof.js';
import {
  Extension,
  encodeAuthProof,
  encodeControl,
  encodeHello,
  encodePing,
  parseAuthChallenge,
  parseExtensionList,
} from '../src/codec/extensions.js';
import {
  encodeData,
  encodeFrame,
  encodeKeepalive,
  encodeRegister,
  type Frame,
  FrameType,
} from '../src/codec/frame.js';
import { ManualTimers } from './helpers/manual-timers.js';
import { errorTexts as errors, eventually, RawPeer } from './helpers/raw-peer.js';
import { keyPair, startRelay, type TestRelay } from './helpers/relay.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function relay(options: Parameters<typeof startRelay>[0] = {}): Promise<TestRelay> {
  const r = await startRelay(options);
  cleanups.push(() => r.close());
  return r;
}

async function peer(r: TestRelay): Promise<RawPeer> {
  const p = await RawPeer.connect(r.port);
  cleanups.push(() => p.destroy());
  return p;
}

const datas = (frames: Frame[]) => frames.filter((f) => f.type === FrameType.Data);

/** Registers a raw peer with the auth extension and completes the proof with `privateKey`. */
async function authenticate(p: RawPeer, publicKey: Buffer, privateKey: Buffer, extra: number[] = []) {
  p.write(encodeRegister(publicKey), encodeHello([Extension.Auth, ...extra]));
  const frames = await p.until((f) => f.some((x) => x.type === FrameType.AuthChallenge));
  const challenge = parseAuthChallenge(frames.find((x) => x.type === FrameType.AuthChallenge)!.body);
  p.write(
    encodeAuthProof(computeProof(privateKey, publicKey, challenge.ephemeralPublicKey, challenge.nonce)),
  );
  return p.until((f) => f.some((x) => x.type === FrameType.AuthOk || x.type === FrameType.Error));
}

describe('RelayServer routing', () => {
  it('forwards Data with the key rewritten to the source, in order, and counts it', async () => {
    const r = await relay();
    const a = keyPair();
    const b = keyPair();
    const pa = await peer(r);
    const pb = await peer(r);
    pa.write(encodeRegister(a.publicKey));
    pb.write(encodeRegister(b.publicKey));
    await eventually(() => r.server.registeredKeyCount === 2);
    const batch = Buffer.concat([1, 2, 3].map((n) => encodeData(b.publicKey, Buffer.from([n, n]))));
    pa.write(batch, encodeKeepalive());
    const got = datas(await pb.until((f) => datas(f).length === 3));
    expect(got.map((f) => f.body.subarray(0, 32))).toEqual([a.publicKey, a.publicKey, a.publicKey]);
    expect(got.map((f) => [...f.body.subarray(32)])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(r.server.stats.framesForwarded).toBe(3);
    expect(r.server.stats.bytesForwarded).toBe(3 * (5 + 32 + 2));
  });

  it('gathers frames for several destinations from one read and delivers each stream in order', async () => {
    const r = await relay();
    const [a, b, c] = [keyPair(), keyPair(), keyPair()];
    const [pa, pb, pc] = [await peer(r), await peer(r), await peer(r)];
    pa.write(encodeRegister(a.publicKey));
    pb.write(encodeRegister(b.publicKey));
    pc.write(encodeRegister(c.publicKey));
    await eventually(() => r.server.registeredKeyCount === 3);
    const frames: Buffer[] = [];
    for (let i = 0; i < 50; i++)
      frames.push(encodeData(i % 3 === 0 ? c.publicKey : b.publicKey, Buffer.from([i])));
    pa.write(Buffer.concat(frames));
    const toB = datas(await pb.until((f) => datas(f).length === 33));
    const toC = datas(await pc.until((f) => datas(f).length === 17));
    expect(toB.map((f) => f.body[32])).toEqual([...Array(50).keys()].filter((i) => i % 3 !== 0));
    expect(toC.map((f) => f.body[32])).toEqual([...Array(50).keys()].filter((i) => i % 3 === 0));
  });

  it('drops Data for an unknown key, tells the sender once, keeps the connection', async () => {
    const r = await relay();
    const a = keyPair();
    const pa = await peer(r);
    pa.write(encodeRegister(a.publicKey));
    pa.write(
      encodeData(keyPair().publicKey, Buffer.from('x')),
      encodeData(keyPair().publicKey, Buffer.from('y')),
    );
    const frames = await pa.until((f) => errors(f).length > 0);
    expect(errors(frames)[0]).toMatch(/^no route to /);
    await eventually(() => r.server.stats.drops.no_route === 2);
    expect(pa.closed).toBe(false);
  }, 30_000);

  it('drops Data addressed to the sender itself and malformed Data', async () => {
    const r = await relay();
    const a = keyPair();
    const pa = await peer(r);
    pa.write(encodeRegister(a.publicKey), encodeData(a.publicKey, Buffer.from('me')));
    pa.write(encodeFrame(FrameType.Data, Buffer.alloc(10)));
    await pa.until((f) => errors(f).length > 0);
    expect(r.server.stats.drops.self).toBe(1);
    expect(r.server.stats.drops.malformed).toBe(1);
  });

  it('closes a connection whose first frame is not Register, with an Error', async () => {
    const r = await relay();
    const p = await peer(r);
    p.write(encodeKeepalive());
    await p.untilClosed();
    expect(errors(p.frames)).toEqual(['protocol error: first frame must be Register, got Keepalive']);
  });

  it('closes on a Register body that is not a key', async () => {
    const r = await relay();
    const p = await peer(r);
    p.write(encodeFrame(FrameType.Register, Buffer.alloc(31)));
    await p.untilClosed();
    expect(errors(p.frames)[0]).toMatch(/Register body must be a 32-byte key, got 31 bytes/);
  });

  it('closes on an out-of-range length and keeps serving others', async () => {
    const r = await relay();
    const p = await peer(r);
    p.write(encodeRegister(keyPair().publicKey), Buffer.from([0, 1, 0, 1, 2]));
    await p.untilClosed();
    expect(errors(p.frames)[0]).toMatch(/frame length 65537 outside 1..65536/);
    expect(r.server.stats.protocolErrors).toBe(1);
  });

  it('answers unknown frame types with an Error and keeps the connection', async () => {
    const r = await relay();
    const p = await peer(r);
    p.write(encodeRegister(keyPair().publicKey), encodeKeepalive(), encodeFrame(0x77, Buffer.from('?')));
    const frames = await p.until((f) => errors(f).length > 0);
    expect(errors(frames)).toEqual(['protocol error: unknown frame type 0x77']);
    expect(p.closed).toBe(false);
  });

  it('unregisters a key when its connection closes', async () => {
    const r = await relay();
    const p = await peer(r);
    p.write(encodeRegister(keyPair().publicKey));
    await eventually(() => r.server.registeredKeyCount === 1);
    p.destroy();
    await eventually(() => r.server.registeredKeyCount === 0 && r.server.connectionCount === 0);
  });
});

describe('RelayServer registration and key ownership', () => {
  it('refuses an unproven registration for a key that is already connected', async () => {
    const r = await relay();
    const a = keyPair();
    const first = await peer(r);
    first.write(encodeRegister(a.publicKey));
    await eventually(() => r.server.registeredKeyCount === 1);
    const second = await peer(r);
    second.write(encodeRegister(a.publicKey), encodeKeepalive());
    await second.untilClosed();
    expect(errors(second.frames)[0]).toMatch(/key already registered/);
    expect(first.closed).toBe(false);
    expect(r.server.stats.refusedRegistrations).toBe(1);
  });

  it('replaces the old connection when the new one proves ownership', async () => {
    const r = await relay();
    const a = keyPair();
    const b = keyPair();
    const old = await peer(r);
    old.write(encodeRegister(a.publicKey));
    await eventually(() => r.server.registeredKeyCount === 1);
    const fresh = await peer(r);
    const frames = await authenticate(fresh, a.publicKey, a.privateKey);
    expect(frames.some((f) => f.type === FrameType.AuthOk)).toBe(true);
    await old.untilClosed();
    expect(errors(old.frames)[0]).toMatch(/replaced by a newer connection/);
    const pb = await peer(r);
    pb.write(encodeRegister(b.publicKey), encodeData(a.publicKey, Buffer.from('hi')));
    await fresh.until((f) => datas(f).length === 1);
    expect(r.server.stats.replacements).toBe(1);
  });

  it('a client without the private key cannot take over a registered key', async () => {
    const r = await relay({ requireAuth: true });
    const a = keyPair();
    const owner = await peer(r);
    await authenticate(owner, a.publicKey, a.privateKey);
    const thief = await peer(r);
    const frames = await authenticate(thief, a.publicKey, keyPair().privateKey);
    expect(errors(frames)[0]).toMatch(/authentication failed/);
    await thief.untilClosed();
    expect(owner.closed).toBe(false);
    expect(r.server.stats.authFailures).toBe(1);
    expect(r.server.registeredKeyCount).toBe(1);
  });

  it('with requireAuth, refuses a core-only client with a clear Error', async () => {
    const r = await relay({ requireAuth: true });
    const p = await peer(r);
    p.write(encodeRegister(keyPair().publicKey), encodeData(keyPair().publicKey, Buffer.from('x')));
    await p.untilClosed();
    expect(errors(p.frames)[0]).toMatch(/authentication required/);
    expect(r.server.registeredKeyCount).toBe(0);
  });

  it('with requireAuth, routes only after the proof', async () => {
    const r = await relay({ requireAuth: true });
    const [a, b] = [keyPair(), keyPair()];
    const [pa, pb] = [await peer(r), await peer(r)];
    await authenticate(pa, a.publicKey, a.privateKey);
    await authenticate(pb, b.publicKey, b.privateKey);
    pa.write(encodeData(b.publicKey, Buffer.from('ok')));
    const got = datas(await pb.until((f) => datas(f).length === 1));
    expect(got[0]!.body.subarray(0, 32)).toEqual(a.publicKey);
  });

  it('negotiates only the extensions both sides know', async () => {
    const r = await relay({ extensions: [Extension.Ping] });
    const p = await peer(r);
    p.write(encodeRegister(keyPair().publicKey), encodeHello([Extension.Auth, Extension.Ping, 0x7f]));
    const frames = await p.until((f) => f.some((x) => x.type === FrameType.Welcome));
    expect(parseExtensionList(frames.find((x) => x.type === FrameType.Welcome)!.body)).toEqual([
      Extension.Ping,
    ]);
    p.write(encodePing(Buffer.from('12345678')));
    const pong = (await p.until((f) => f.some((x) => x.type === FrameType.Pong))).find(
      (x) => x.type === FrameType.Pong,
    );
    expect(pong!.body.toString()).toBe('12345678');
  });

  it('a core-only relay answers Hello with an Error and keeps routing', async () => {
    const r = await relay({ extensions: [] });
    const p = await peer(r);
    p.write(encodeRegister(keyPair().publicKey), encodeHello([Extension.Auth]));
    const frames = await p.until((f) => errors(f).length > 0);
    expect(errors(frames)).toEqual(['protocol error: unknown frame type Hello']);
    expect(r.server.registeredKeyCount).toBe(1);
  });

  it('a core-only client never sees an extension frame', async () => {
    const timers = new ManualTimers();
    const r = await relay({ timers });
    const p = await peer(r);
    p.write(encodeRegister(keyPair().publicKey), encodeKeepalive());
    await eventually(() => r.server.registeredKeyCount === 1);
    timers.advance(30_000);
    p.write(encodeKeepalive());
    await new Promise((resolve) => setImmediate(resolve));
    expect(p.frames.filter((f) => f.type !== FrameType.Error && f.type !== FrameType.Data)).toEqual([]);
  });
});

describe('RelayServer timeouts (manual clock)', () => {
  it('closes a connection that does not register within the handshake timeout', async () => {
    const timers = new ManualTimers();
    const r = await relay({ timers, handshakeTimeoutMs: 10_000 });
    const p = await peer(r);
    await eventually(() => r.server.connectionCount === 1);
    timers.advance(9_000);
    expect(p.closed).toBe(false);
    timers.advance(2_000);
    await p.untilClosed();
    expect(errors(p.frames)[0]).toMatch(/handshake timeout/);
  });

  it('closes a silent core connection after the idle timeout', async () => {
    const timers = new ManualTimers();
    const r = await relay({ timers, idleTimeoutMs: 75_000 });
    const p = await peer(r);
    p.write(encodeRegister(keyPair().publicKey));
    await eventually(() => r.server.registeredKeyCount === 1);
    timers.advance(60_000);
    expect(p.closed).toBe(false);
    timers.advance(20_000);
    await p.untilClosed();
  });

  it('pings a ping-enabled connection and drops it when it goes silent', async () => {
    const timers = new ManualTimers();
    const r = await relay({ timers, pingIntervalMs: 5_000, pingTimeoutMs: 15_000 });
    const p = await peer(r);
    p.write(encodeRegister(keyPair().publicKey), encodeHello([Extension.Ping]));
    await p.until((f) => f.some((x) => x.type === FrameType.Welcome));
    timers.advance(5_000);
    await p.until((f) => f.some((x) => x.type === FrameType.Ping));
    timers.advance(11_000);
    await p.untilClosed();
    expect(r.server.connectionCount).toBe(0);
  });
});

describe('RelayServer bounded queues', () => {
  it('a destination that does not read loses frames (counted) while other pairs keep flowing', async () => {
    const r = await relay({ maxQueueBytes: 256 * 1024 });
    const [a, slow, c, d] = [keyPair(), keyPair(), keyPair(), keyPair()];
    const [pa, pslow, pc, pd] = [await peer(r), await peer(r), await peer(r), await peer(r)];
    pa.write(encodeRegister(a.publicKey));
    pslow.write(encodeRegister(slow.publicKey));
    pc.write(encodeRegister(c.publicKey));
    pd.write(encodeRegister(d.publicKey));
    await eventually(() => r.server.registeredKeyCount === 4);
    pslow.socket.pause();
    const frame = encodeData(slow.publicKey, Buffer.alloc(1400));
    const burst = Buffer.concat(Array.from({ length: 200 }, () => frame));
    for (let i = 0; i < 50; i++) pa.write(burst); // ~14 MB to a reader that never reads
    await eventually(() => r.server.stats.drops.queue_full > 0, 10_000);
    expect(r.server.maxQueuedBytes).toBeLessThanOrEqual(256 * 1024 + 65540);
    pc.write(encodeData(d.publicKey, Buffer.from('still here')));
    const got = datas(await pd.until((f) => datas(f).length === 1));
    expect(got[0]!.body.subarray(32).toString()).toBe('still here');
    expect(pa.closed).toBe(false);
  }, 30_000);
});

describe('RelayServer backpressure', () => {
  it('a sender whose destination stalls is paused only briefly: its traffic to others keeps flowing', async () => {
    const timers = new ManualTimers();
    const r = await relay({
      timers,
      maxQueueBytes: 512 * 1024,
      pauseThresholdBytes: 64 * 1024,
      maxPauseMs: 50,
    });
    const [a, slow, c] = [keyPair(), keyPair(), keyPair()];
    const [pa, pslow, pc] = [await peer(r), await peer(r), await peer(r)];
    pa.write(encodeRegister(a.publicKey));
    pslow.write(encodeRegister(slow.publicKey));
    pc.write(encodeRegister(c.publicKey));
    await eventually(() => r.server.registeredKeyCount === 3);
    pslow.socket.pause();
    const toSlow = Buffer.concat(
      Array.from({ length: 100 }, () => encodeData(slow.publicKey, Buffer.alloc(1400))),
    );
    for (let i = 0; i < 40; i++) pa.write(toSlow);
    pa.write(encodeData(c.publicKey, Buffer.from('for c')));
    // The relay pauses A while the stalled queue is over the threshold; the pause times out, the stalled
    // destination is marked slow, A is read again and its frame to C goes through.
    await eventually(() => r.server.maxQueuedBytes > 64 * 1024);
    timers.advance(50);
    const got = datas(await pc.until((f) => datas(f).length === 1, 10_000));
    expect(got[0]!.body.subarray(32).toString()).toBe('for c');
    await eventually(() => r.server.stats.drops.queue_full > 0);
    expect(r.server.maxQueuedBytes).toBeLessThanOrEqual(512 * 1024 + 65540);
  }, 30_000);

  it('resumes a paused sender as soon as its destination drains', async () => {
    const r = await relay({
      pauseThresholdBytes: 16 * 1024,
      maxPauseMs: 60_000,
      maxQueueBytes: 64 * 1024 * 1024,
    });
    const [a, b] = [keyPair(), keyPair()];
    const [pa, pb] = [await peer(r), await peer(r)];
    pa.write(encodeRegister(a.publicKey));
    pb.write(encodeRegister(b.publicKey));
    await eventually(() => r.server.registeredKeyCount === 2);
    pb.socket.pause();
    const batch = Buffer.concat(
      Array.from({ length: 200 }, () => encodeData(b.publicKey, Buffer.alloc(1400))),
    );
    // More than the kernel's loopback buffers hold, so the relay's own queue fills and A gets paused.
    for (let i = 0; i < 50; i++) pa.write(batch);
    await eventually(() => r.server.maxQueuedBytes > 16 * 1024);
    pb.socket.resume();
    await pb.until((f) => datas(f).length === 10_000, 20_000);
    expect(r.server.stats.drops.queue_full).toBe(0);
  }, 30_000);
});

describe('RelayServer shutdown', () => {
  it('tells clients it is going away and closes them', async () => {
    const r = await startRelay();
    const p = await RawPeer.connect(r.port);
    p.write(encodeRegister(keyPair().publicKey));
    await eventually(() => r.server.registeredKeyCount === 1);
    await r.close();
    await p.untilClosed();
    expect(errors(p.frames)).toEqual(['relay shutting down']);
  });
});

describe('RelayServer answers a core-only client on a relay with requireAuth at once', () => {
  it('refuses with "authentication required" after the 100 ms hello grace, not the 10 s handshake timeout', async () => {
    const timers = new ManualTimers();
    const r = await relay({ requireAuth: true, timers });
    const p = await peer(r);
    p.write(encodeRegister(keyPair().publicKey));
    // The Register has been read once the connection is pending (registered, waiting for Hello).
    const sessions = (r.server as unknown as { sessions: Set<{ machine: { phase: string } }> }).sessions;
    await eventually(() => [...sessions].some((session) => session.machine.phase === 'pending'));
    timers.advance(99);
    expect(p.closed).toBe(false);
    timers.advance(1);
    await p.untilClosed();
    expect(errors(p.frames)).toEqual([
      'authentication required: this relay only routes keys proven by the auth extension',
    ]);
  });

  it('an extension client that sends Register and Hello together is not refused', async () => {
    const timers = new ManualTimers();
    const r = await relay({ requireAuth: true, timers });
    const a = keyPair();
    const p = await peer(r);
    p.write(Buffer.concat([encodeRegister(a.publicKey), encodeHello([Extension.Auth])]));
    await p.until((f) => f.some((x) => x.type === FrameType.AuthChallenge));
    timers.advance(5_000);
    expect(p.closed).toBe(false);
  });
});

describe('RelayServer control extension', () => {
  async function controlPeer(r: TestRelay, extensions: number[] = [Extension.Control]) {
    const keys = keyPair();
    const p = await peer(r);
    p.write(Buffer.concat([encodeRegister(keys.publicKey), encodeHello(extensions)]));
    await p.until((f) => f.some((x) => x.type === FrameType.Welcome));
    return { p, keys };
  }
  const controls = (frames: Frame[]) => frames.filter((f) => f.type === FrameType.Control);

  it('delivers Control with the source key to a connection that agreed to it', async () => {
    const r = await relay();
    const a = await controlPeer(r);
    const b = await controlPeer(r);
    a.p.write(encodeControl(b.keys.publicKey, Buffer.from('upgrade?')));
    const got = controls(await b.p.until((f) => controls(f).length === 1));
    expect(got[0]!.body.subarray(0, 32)).toEqual(a.keys.publicKey);
    expect(got[0]!.body.subarray(32).toString()).toBe('upgrade?');
    expect(r.server.stats.controlForwarded).toBe(1);
    expect(r.server.stats.framesForwarded).toBe(0);
  });

  it('never sends Control to a core-only connection, and counts it', async () => {
    const r = await relay();
    const a = await controlPeer(r);
    const core = await peer(r);
    const coreKey = keyPair().publicKey;
    core.write(encodeRegister(coreKey));
    await eventually(() => r.server.registeredKeyCount === 2);
    a.p.write(encodeControl(coreKey, Buffer.from('x')), encodeControl(keyPair().publicKey, Buffer.from('y')));
    await eventually(() => r.server.stats.drops.no_control === 1 && r.server.stats.drops.no_route === 1);
    core.write(encodeKeepalive());
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(core.frames).toEqual([]);
  });

  it('forwards only from routed connections: a pending one is refused', async () => {
    const r = await relay({ requireAuth: true });
    const owner = keyPair();
    const b = await peer(r);
    await authenticate(b, owner.publicKey, owner.privateKey, [Extension.Control]);
    const p = await peer(r);
    p.write(
      Buffer.concat([
        encodeRegister(keyPair().publicKey),
        encodeControl(owner.publicKey, Buffer.from('sneak')),
      ]),
    );
    await p.untilClosed();
    expect(errors(p.frames)[0]).toMatch(/authentication required/);
    expect(controls(b.frames)).toEqual([]);
  });

  it('rate-limits per connection: the excess is dropped and counted, the connection stays', async () => {
    const r = await relay({ controlPerSecond: 10, controlBurst: 5 });
    const a = await controlPeer(r);
    const b = await controlPeer(r);
    a.p.write(
      Buffer.concat(Array.from({ length: 20 }, () => encodeControl(b.keys.publicKey, Buffer.from('m')))),
    );
    await eventually(() => r.server.stats.drops.rate_limited + r.server.stats.controlForwarded === 20);
    expect(r.server.stats.controlForwarded).toBeGreaterThanOrEqual(5);
    expect(r.server.stats.controlForwarded).toBeLessThan(10);
    expect(a.p.closed).toBe(false);
  });

  it('a malformed Control frame closes that one connection only', async () => {
    const r = await relay();
    const bad = await controlPeer(r);
    const a = await controlPeer(r);
    const b = await controlPeer(r);
    bad.p.write(encodeFrame(FrameType.Control, Buffer.alloc(10)));
    await bad.p.untilClosed();
    expect(errors(bad.p.frames)[0]).toMatch(/Control body must be a 32-byte key/);
    const oversized = await controlPeer(r);
    oversized.p.write(encodeFrame(FrameType.Control, Buffer.alloc(32 + 1025)));
    await oversized.p.untilClosed();
    a.p.write(encodeControl(b.keys.publicKey, Buffer.from('still fine')));
    await b.p.until((f) => controls(f).length === 1);
    expect(a.p.closed || b.p.closed).toBe(false);
  });
});
