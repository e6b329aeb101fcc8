// The source penalty over real sockets (src/server/source-penalty.ts decides, server.ts applies): a source whose
// connections keep breaking the protocol has its new connections reset at accept, while everything already
// connected — its own registered connections included — keeps forwarding; well-behaved reconnects are never limited.
import { type AddressInfo, connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeData, encodeRegister, FrameType } from '../src/codec/frame.js';
import type { RelayServerOptions } from '../src/server/options.js';
import { type Cleanups, loggedRelay as loggedRelayWith, trackedPeer } from './helpers/logged-relay.js';
import { ManualTimers } from './helpers/manual-timers.js';
import { eventually, type RawPeer } from './helpers/raw-peer.js';
import { keyPair, startRelay, type TestRelay } from './helpers/relay.js';

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const loggedRelay = (options: RelayServerOptions = {}) => loggedRelayWith(cleanups, options);
const peer = (r: TestRelay) => trackedPeer(cleanups, r);

/** A connection that breaks the framing at once (a length past the 65,536 limit); resolves when cut. */
async function garbage(r: TestRelay): Promise<RawPeer> {
  const p = await peer(r);
  p.write(Buffer.from([0, 1, 0, 1, 2]));
  await p.untilClosed();
  return p;
}

/** Connects and waits for the relay to hang up; what came back (a reset may beat the client's own connect event). */
function refusedConnection(port: number): Promise<{ bytes: number; error: string | undefined }> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let bytes = 0;
    let error: string | undefined;
    const timer = setTimeout(() => socket.destroy(new Error('still open after 5 s')), 5_000);
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ bytes, error });
    });
  });
}

async function registered(r: TestRelay, key: Buffer): Promise<RawPeer> {
  const before = r.server.registeredKeyCount;
  const p = await peer(r);
  p.write(encodeRegister(key));
  await eventually(() => r.server.registeredKeyCount > before || p.closed);
  return p;
}

describe('relay source penalty', () => {
  it('resets a source that broke the protocol `burst` times at accept, and nothing else', async () => {
    const timers = new ManualTimers();
    const { relay, lines } = await loggedRelay({ timers, sourcePenaltyBurst: 3, sourcePenaltyPerSecond: 1 });
    const [a, b, c] = [keyPair(), keyPair(), keyPair()];
    const [pa, pb] = [await registered(relay, a.publicKey), await registered(relay, b.publicKey)];

    for (let i = 0; i < 3; i++) await garbage(relay);
    const accepted = relay.server.stats.connectionsAccepted;
    // Closed before Node made a Socket of it (early-refusal.ts): nothing read, nothing sent.
    expect(relay.server.refusesBeforeSocket).toBe(true);
    expect((await refusedConnection(relay.port)).bytes).toBe(0);
    expect(relay.server.stats.connectionsPenalized).toBe(1);
    expect(relay.server.stats.connectionsAccepted).toBe(accepted);
    expect(lines().filter((l) => l.event === 'source-penalized')).toMatchObject([
      { level: 40, source: '127.0.0.1', burst: 3, perSecond: 1 },
    ]);

    // The same address's registered connections never noticed.
    pa.write(encodeData(b.publicKey, Buffer.from('still here')));
    const frames = await pb.until((f) => f.some((x) => x.type === FrameType.Data));
    expect(
      frames
        .find((x) => x.type === FrameType.Data)!
        .body.subarray(32)
        .toString(),
    ).toBe('still here');
    expect(pa.closed || pb.closed).toBe(false);

    // A second later the source has regained a strike: its next connection is served.
    timers.advance(1_000);
    const back = await registered(relay, c.publicKey);
    expect(back.closed).toBe(false);
    expect(relay.server.registeredKeyCount).toBe(3);
    // Once its bucket is full again the relay forgets the source.
    expect(relay.server.penalizedSourceCount).toBe(1);
    timers.advance(3_000);
    relay.server.sweep();
    expect(relay.server.penalizedSourceCount).toBe(0);
  });

  it('never limits clients that register, however many reconnect from one address', async () => {
    const { relay } = await loggedRelay({ timers: new ManualTimers(), sourcePenaltyBurst: 3 });
    for (let i = 0; i < 20; i++) {
      const p = await registered(relay, keyPair().publicKey);
      expect(p.closed).toBe(false);
      p.destroy();
      await eventually(() => relay.server.registeredKeyCount === 0);
    }
    expect(relay.server.stats.connectionsPenalized).toBe(0);
    expect(relay.server.penalizedSourceCount).toBe(0);
  });

  it('counts a connection that hangs up before registering as a strike', async () => {
    const { relay } = await loggedRelay({ timers: new ManualTimers(), sourcePenaltyBurst: 2 });
    for (let i = 0; i < 2; i++) {
      const p = await peer(relay);
      await eventually(() => relay.server.connectionCount === 1);
      p.destroy();
      await eventually(() => relay.server.connectionCount === 0);
    }
    expect((await refusedConnection(relay.port)).bytes).toBe(0);
    expect(relay.server.stats.connectionsPenalized).toBe(1);
  });

  it("resets a penalized source's socket handed to accept() (an embedding program's own listener)", async () => {
    const { relay } = await loggedRelay({ timers: new ManualTimers(), sourcePenaltyBurst: 1 });
    await garbage(relay);
    const listener = createServer((socket) => relay.server.accept(socket));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => listener.close(resolve)));
    const port = (listener.address() as AddressInfo).port;
    expect(await refusedConnection(port)).toEqual({ bytes: 0, error: 'ECONNRESET' });
    expect(relay.server.stats.connectionsPenalized).toBe(1);
  });

  it('is off with a burst of 0', async () => {
    const { relay } = await loggedRelay({ sourcePenaltyBurst: 0 });
    for (let i = 0; i < 10; i++) await garbage(relay);
    const p = await registered(relay, keyPair().publicKey);
    expect(p.closed).toBe(false);
    expect(relay.server.stats.connectionsPenalized).toBe(0);
    expect(relay.server.penalizedSourceCount).toBe(0);
  });

  it('refuses a bad configuration by name', async () => {
    await expect(startRelay({ sourcePenaltyBurst: -1 })).rejects.toMatchObject({
      argument: 'sourcePenaltyBurst',
    });
    await expect(startRelay({ sourcePenaltyBurst: 5, sourcePenaltyPerSecond: 0 })).rejects.toMatchObject({
      argument: 'sourcePenaltyPerSecond',
    });
  });
});
