import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { RelayClient, type RelayClientOptions, type RelayClientState } from '../src/client/client.js';
import { Extension } from '../src/codec/extensions.js';
import { encodeKeepalive, FrameType } from '../src/codec/frame.js';
import { RelayArgumentError } from '../src/errors.js';
import { ManualTimers } from './helpers/manual-timers.js';
import { eventually } from './helpers/raw-peer.js';
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
    expect(ca.extensions).toEqual([Extension.Auth, Extension.Ping]);
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
