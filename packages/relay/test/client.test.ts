import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { RelayClient, type RelayClientOptions, type RelayClientState } from '../src/client/client.js';
import { Extension } from '../src/codec/extensions.js';
import { encodeKeepalive, encodeRegister, FrameType } from '../src/codec/frame.js';
import { RelayArgumentError } from '../src/errors.js';
import { CoreOnlyRelay } from './helpers/core-relay.js';
import { ManualTimers } from './helpers/manual-timers.js';
import { eventually, RawPeer } from './helpers/raw-peer.js';
import { keyPair, startRelay, type TestRelay } from './helpers/relay.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function relay(options: Parameters<typeof startRelay>[0] = {}, port = 0): Promise<TestRelay> {
  const r = await startRelay(options, '127.0.0.1', port);
  cleanups.push(() => r.close());
  return r;
}

function client(options: Omit<RelayClientOptions, 'host'> & { host?: string }): RelayClient {
  const c = new RelayClient({ host: '127.0.0.1', random: () => 0, ...options });
  cleanups.push(() => c.close());
  return c;
}

function states(c: RelayClient): RelayClientState[] {
  const seen: RelayClientState[] = [];
  c.onState((state) => seen.push(state));
  return seen;
}

describe('RelayClient', () => {
  it('registers, proves its key and exchanges Data with another client', async () => {
    const r = await relay({ requireAuth: true });
    const [a, b] = [keyPair(), keyPair()];
    const ca = client({ port: r.port, ...a });
    const cb = client({ port: r.port, ...b });
    const received: Array<[string, string]> = [];
    cb.onData((source, datagram) => received.push([source.toString('hex'), datagram.toString()]));
    ca.start();
    cb.start();
    await eventually(() => ca.ready && cb.ready);
    expect(ca.authenticated).toBe(true);
    expect(ca.extensions).toEqual([Extension.Auth, Extension.Ping, Extension.Control]);
    expect(ca.send(b.publicKey, Buffer.from('hello'))).toBe(true);
    await eventually(() => received.length === 1);
    expect(received[0]).toEqual([a.publicKey.toString('hex'), 'hello']);
  });

  it('speaks only the core when extensions are off, and relays when auth is not required', async () => {
    const r = await relay();
    const [a, b] = [keyPair(), keyPair()];
    const ca = client({ port: r.port, publicKey: a.publicKey, extensions: false });
    const cb = client({ port: r.port, publicKey: b.publicKey, extensions: false });
    let got = '';
    cb.onData((_s, d) => {
      got = d.toString();
    });
    ca.start();
    cb.start();
    await eventually(() => ca.ready && cb.ready && r.server.registeredKeyCount === 2);
    expect(ca.extensions).toEqual([]);
    ca.send(b.publicKey, Buffer.from('core'));
    await eventually(() => got === 'core');
  });

  it('falls back to the core when the relay answers Hello with an Error', async () => {
    const r = await relay({ extensions: [] });
    const a = keyPair();
    const ca = client({ port: r.port, ...a });
    ca.start();
    await eventually(() => ca.ready);
    expect(ca.extensions).toEqual([]);
    expect(ca.authenticated).toBe(false);
  });

  it('falls back to the core after the hello timeout when the relay stays silent', async () => {
    const timers = new ManualTimers();
    // A relay that reads and never answers: a core implementation that ignores unknown frames.
    const { createServer } = await import('node:net');
    const silent = createServer((socket) => socket.resume());
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    cleanups.push(() => silent.close());
    const port = (silent.address() as { port: number }).port;
    const ca = client({ port, ...keyPair(), timers, helloTimeoutMs: 3_000 });
    ca.start();
    await eventually(() => ca.state === 'handshake');
    timers.advance(2_999);
    expect(ca.ready).toBe(false);
    timers.advance(1);
    expect(ca.ready).toBe(true);
  });

  it('reconnects with backoff 1 s, 2 s, 4 s ... while the relay is down, and comes back', async () => {
    const timers = new ManualTimers();
    const r = await relay();
    const port = r.port;
    const a = keyPair();
    const ca = client({ port, ...a, timers });
    const seen = states(ca);
    ca.start();
    await eventually(() => ca.ready);
    await r.close();
    await eventually(() => ca.state === 'backoff');
    expect(timers.pendingTimeouts()).toEqual([1000]);
    timers.advance(1000);
    await eventually(() => ca.state === 'backoff' && timers.pendingTimeouts()[0] === 2000);
    timers.advance(2000);
    await eventually(() => ca.state === 'backoff' && timers.pendingTimeouts()[0] === 4000);
    const back = await relay({}, port);
    timers.advance(4000);
    await eventually(() => ca.ready && back.server.registeredKeyCount === 1);
    expect(seen.filter((s) => s === 'ready')).toHaveLength(2);
    // After a successful connection the backoff starts from 1 s again.
    await back.close();
    await eventually(() => ca.state === 'backoff');
    expect(timers.pendingTimeouts()).toEqual([1000]);
  });

  it('sends Keepalive every 25 s', async () => {
    const timers = new ManualTimers();
    const r = await relay();
    const ca = client({ port: r.port, ...keyPair(), timers, extensions: false });
    const writes: number[] = [];
    ca.start();
    await eventually(() => ca.ready);
    const socket = (ca as unknown as { socket: import('node:net').Socket }).socket;
    const original = socket.write.bind(socket);
    socket.write = ((chunk: Buffer, ...rest: never[]) => {
      writes.push(chunk[4]!);
      return original(chunk, ...rest);
    }) as typeof socket.write;
    timers.advance(24_999);
    expect(writes).toEqual([]);
    timers.advance(1);
    expect(writes).toEqual([FrameType.Keepalive]);
    timers.advance(25_000);
    expect(writes).toEqual([FrameType.Keepalive, FrameType.Keepalive]);
    expect(encodeKeepalive()[4]).toBe(FrameType.Keepalive);
  });

  it('declares a silent relay dead after the ping timeout and reconnects', async () => {
    const timers = new ManualTimers();
    const r = await relay({ pingIntervalMs: 1_000_000 });
    const ca = client({ port: r.port, ...keyPair(), timers, pingIntervalMs: 5_000, pingTimeoutMs: 15_000 });
    ca.start();
    await eventually(() => ca.ready);
    // Within the timeout the connection stays up...
    timers.advance(10_000);
    expect(ca.ready).toBe(true);
    // ...until it stops reading: simulate a dead path by pausing the relay side of every connection.
    for (const session of (r.server as unknown as { sessions: Set<{ socket: import('node:net').Socket }> })
      .sessions)
      session.socket.pause();
    timers.advance(20_000);
    await eventually(() => ca.state === 'backoff');
  });

  it('drops sends while not connected and rejects a private key that does not match', () => {
    const a = keyPair();
    const ca = client({ port: 1, ...a });
    expect(ca.send(keyPair().publicKey, Buffer.from('x'))).toBe(false);
    expect(ca.counters.sendDrops).toBe(1);
    expect(
      () =>
        new RelayClient({
          host: '127.0.0.1',
          port: 1,
          publicKey: a.publicKey,
          privateKey: keyPair().privateKey,
        }),
    ).toThrow(RelayArgumentError);
  });
});

async function coreRelay(echoToSender = true): Promise<[CoreOnlyRelay, number]> {
  const core = new CoreOnlyRelay(echoToSender);
  const port = await core.listen();
  cleanups.push(() => core.close());
  return [core, port];
}

describe('RelayClient against relays without extensions', () => {
  it('is ready at once on a core-only relay that ignores Hello: its echo of the probe is the first reply', async () => {
    const [core, port] = await coreRelay();
    // The clock never moves: readiness cannot come from the 3 s hello timeout.
    const timers = new ManualTimers();
    const [a, b] = [keyPair(), keyPair()];
    const ca = client({ port, ...a, timers });
    const cb = client({ port, ...b, timers });
    const received: string[] = [];
    ca.onData((source, datagram) => received.push(`${source.equals(b.publicKey)}:${datagram}`));
    const startedAt = performance.now();
    ca.start();
    await eventually(() => ca.ready);
    const readyInMs = performance.now() - startedAt;
    console.info(`ready in ${readyInMs.toFixed(1)} ms against a core-only relay (hello timeout 3000 ms)`);
    expect(ca.extensions).toEqual([]);
    expect(ca.authenticated).toBe(false);
    expect(core.seenTypes.slice(0, 3)).toEqual([FrameType.Register, FrameType.Hello, FrameType.Data]);
    // The probe echo was consumed; real traffic flows on the core frames.
    cb.start();
    await eventually(() => cb.ready);
    cb.send(a.publicKey, Buffer.from('core data'));
    await eventually(() => received.length === 1);
    expect(received).toEqual(['true:core data']);
  });

  it('is ready at once when our relay runs without extensions (an Error answers Hello)', async () => {
    const r = await relay({ extensions: [] });
    const timers = new ManualTimers();
    const ca = client({ port: r.port, ...keyPair(), timers });
    ca.start();
    await eventually(() => ca.ready);
    expect(ca.extensions).toEqual([]);
    expect(timers.pendingTimeouts()).toEqual([]);
  });

  it('still falls back after the hello timeout on a core relay that drops Data to the sender', async () => {
    const [, port] = await coreRelay(false);
    const timers = new ManualTimers();
    const ca = client({ port, ...keyPair(), timers, helloTimeoutMs: 3_000 });
    ca.start();
    await eventually(() => ca.state === 'handshake' && timers.pendingTimeouts().length > 0);
    expect(ca.ready).toBe(false);
    timers.advance(3_000);
    expect(ca.ready).toBe(true);
  });

  it('never hands the echo probe to data listeners on our own relay either', async () => {
    const r = await relay();
    const a = keyPair();
    const ca = client({ port: r.port, ...a });
    const received: Buffer[] = [];
    ca.onData((_s, d) => received.push(Buffer.from(d)));
    ca.start();
    await eventually(() => ca.ready);
    expect(ca.authenticated).toBe(true);
    await eventually(() => r.server.stats.drops.self === 1);
    expect(received).toEqual([]);
  });
});

describe('RelayClient key ownership (on by default)', () => {
  it('needs the private key unless auth is turned off', () => {
    const { publicKey } = keyPair();
    expect(() => new RelayClient({ host: '127.0.0.1', port: 1, publicKey })).toThrow(
      expect.objectContaining({ name: 'RelayArgumentError', argument: 'privateKey' }),
    );
    expect(() => new RelayClient({ host: '127.0.0.1', port: 1, publicKey, auth: false })).not.toThrow();
    expect(() => new RelayClient({ host: '127.0.0.1', port: 1, publicKey, extensions: false })).not.toThrow();
  });

  it('replaces a stale registration of its key at once instead of waiting out the idle timeout', async () => {
    const timers = new ManualTimers();
    const r = await relay({ timers });
    const a = keyPair();
    // A dead node's connection: registered on the core, never says anything again.
    const stale = await RawPeer.connect(r.port);
    cleanups.push(() => stale.destroy());
    stale.write(encodeRegister(a.publicKey));
    await eventually(() => r.server.registeredKeyCount === 1);
    const ca = client({ port: r.port, ...a, timers });
    ca.start();
    await eventually(() => ca.ready);
    expect(ca.authenticated).toBe(true);
    await stale.untilClosed();
    expect(stale.frames.map((f) => f.body.toString())).toEqual([
      'replaced by a newer connection that proved ownership of this key',
    ]);
    expect(r.server.registeredKeyCount).toBe(1);
    expect(r.server.stats.replacements).toBe(1);
  });

  it('without auth, offers only the other extensions', async () => {
    const r = await relay();
    const ca = client({ port: r.port, publicKey: keyPair().publicKey, auth: false });
    ca.start();
    await eventually(() => ca.ready);
    expect(ca.extensions).toEqual([Extension.Ping, Extension.Control]);
    expect(ca.authenticated).toBe(false);
  });

  it('a core-only client on a relay with requireAuth hears why at once, not after the handshake timeout', async () => {
    const timers = new ManualTimers();
    const r = await relay({ requireAuth: true, timers });
    const ca = client({ port: r.port, publicKey: keyPair().publicKey, extensions: false, timers });
    const errors: string[] = [];
    ca.onState((state, error) => {
      if (state === 'backoff' && error) errors.push(error.message);
    });
    ca.start();
    await eventually(() => r.server.connectionCount === 1);
    timers.advance(100);
    await eventually(() => errors.length === 1);
    expect(errors[0]).toMatch(/authentication required/);
  });
});

describe('RelayClient control messages', () => {
  it('sends and receives Control frames with the sender key, separate from Data', async () => {
    const r = await relay({ requireAuth: true });
    const [a, b] = [keyPair(), keyPair()];
    const ca = client({ port: r.port, ...a });
    const cb = client({ port: r.port, ...b });
    const control: Array<[boolean, string]> = [];
    const data: string[] = [];
    cb.onControl((from, payload) => control.push([from.equals(a.publicKey), payload.toString()]));
    cb.onData((_s, d) => data.push(d.toString()));
    expect(ca.sendControl(b.publicKey, Buffer.from('early'))).toBe(false);
    ca.start();
    cb.start();
    await eventually(() => ca.ready && cb.ready);
    expect(ca.sendControl(b.publicKey, Buffer.from('punch at 12:00'))).toBe(true);
    expect(ca.sendControl(b.publicKey, Buffer.alloc(1024))).toBe(true);
    await eventually(() => control.length === 2);
    expect(control[0]).toEqual([true, 'punch at 12:00']);
    expect(data).toEqual([]);
    expect(() => ca.sendControl(b.publicKey, Buffer.alloc(1025))).toThrow(
      expect.objectContaining({ name: 'RelayArgumentError', argument: 'payload' }),
    );
    expect(() => ca.sendControl(Buffer.alloc(31), Buffer.alloc(1))).toThrow(
      expect.objectContaining({ name: 'RelayArgumentError', argument: 'peerKey' }),
    );
  });

  it('returns false when the relay did not agree to the control extension', async () => {
    const r = await relay({ extensions: [Extension.Auth, Extension.Ping] });
    const [a, b] = [keyPair(), keyPair()];
    const ca = client({ port: r.port, ...a });
    ca.start();
    await eventually(() => ca.ready);
    expect(ca.extensions).toEqual([Extension.Auth, Extension.Ping]);
    expect(ca.sendControl(b.publicKey, Buffer.from('x'))).toBe(false);
  });
});
