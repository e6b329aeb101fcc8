// How the relay treats garbage (src/server/handshake.ts decides, session.ts applies), over real sockets: a
// connection that never registered and breaks the framing is cut at once, without an Error frame and without an
// info log line; one that registered is told why and logged; nobody else notices either.
import { afterEach, describe, expect, it } from 'vitest';
import { encodeData, encodeRegister, FrameType } from '../src/codec/frame.js';
import type { RelayServerOptions } from '../src/server/options.js';
import { type Cleanups, loggedRelay as loggedRelayWith, trackedPeer } from './helpers/logged-relay.js';
import { ManualTimers } from './helpers/manual-timers.js';
import { errorTexts as errors, eventually } from './helpers/raw-peer.js';
import { keyPair, type TestRelay } from './helpers/relay.js';

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const loggedRelay = (options: RelayServerOptions = {}) => loggedRelayWith(cleanups, options);
const peer = (r: TestRelay) => trackedPeer(cleanups, r);

const closes = (lines: Array<Record<string, unknown>>) =>
  lines.filter((l) => l.event === 'connection-closed');

describe('relay fed garbage', () => {
  it('cuts a never-registered connection that breaks the framing at once: no Error frame, no info line', async () => {
    const { relay, lines } = await loggedRelay();
    const [a, b] = [keyPair(), keyPair()];
    const [pa, pb] = [await peer(relay), await peer(relay)];
    pa.write(encodeRegister(a.publicKey));
    pb.write(encodeRegister(b.publicKey));
    const bad = await Promise.all(
      // An HTTP request, a zero length prefix, one past the 65,536 limit.
      [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([0, 0, 0, 0, 9]), Buffer.from([0, 1, 0, 1, 2])].map(
        async (garbage) => {
          const p = await peer(relay);
          p.write(garbage);
          return p;
        },
      ),
    );
    for (const p of bad) await p.untilClosed();
    expect(bad.flatMap((p) => errors(p.frames))).toEqual([]);
    expect(relay.server.stats.protocolErrors).toBe(3);
    expect(closes(lines())).toEqual([]);
    // The registered pair never noticed.
    pa.write(encodeData(b.publicKey, Buffer.from('still here')));
    const got = await pb.until((f) => f.some((x) => x.type === FrameType.Data));
    expect(
      got
        .find((x) => x.type === FrameType.Data)!
        .body.subarray(32)
        .toString(),
    ).toBe('still here');
    expect(pa.closed || pb.closed).toBe(false);
  });

  it('tells a registered connection that breaks the framing why, and logs it', async () => {
    const { relay, lines } = await loggedRelay();
    const p = await peer(relay);
    const key = keyPair().publicKey;
    p.write(encodeRegister(key), Buffer.from([0, 1, 0, 1, 2]));
    await p.untilClosed();
    expect(errors(p.frames)[0]).toMatch(/frame length 65537 outside 1..65536/);
    expect(closes(lines()).map((l) => [l.level, l.reason])).toEqual([[30, 'bad frame length']]);
    // The line names the connection, its address and the peer (fields of the line, no child logger).
    const [closed] = closes(lines());
    expect(closed).toMatchObject({
      peer: Buffer.from(key).toString('base64'),
      remote: expect.stringMatching(/:\d+$/),
    });
    expect(typeof closed!.conn).toBe('number');
  });

  it('still answers a well-framed wrong first frame with an Error, without an info line', async () => {
    const { relay, lines } = await loggedRelay();
    const p = await peer(relay);
    p.write(Buffer.from([0, 0, 0, 1, 0x03]));
    await p.untilClosed();
    expect(errors(p.frames)).toEqual(['protocol error: first frame must be Register, got Keepalive']);
    expect(closes(lines())).toEqual([]);
  });

  it('writes per-connection lines within the budget and counts the rest in one summary per sweep', async () => {
    const timers = new ManualTimers();
    const { relay, lines } = await loggedRelay({ timers, logLinesPerSecond: 1, logLinesBurst: 2 });
    const keys = Array.from({ length: 5 }, () => keyPair().publicKey);
    const peers = await Promise.all(keys.map(() => peer(relay)));
    for (const [i, p] of peers.entries()) p.write(encodeRegister(keys[i]!));
    await eventually(() => relay.server.registeredKeyCount === 5);
    const registered = () => lines().filter((l) => l.event === 'registered');
    expect(registered()).toHaveLength(2);
    relay.server.sweep();
    expect(lines().filter((l) => l.event === 'log-lines-suppressed')).toMatchObject([
      { level: 40, suppressed: 3, perSecond: 1 },
    ]);
    // Nothing new to report: no second summary. A second later one more line fits.
    relay.server.sweep();
    expect(lines().filter((l) => l.event === 'log-lines-suppressed')).toHaveLength(1);
    timers.advance(1_000);
    peers[0]!.write(Buffer.from([0, 1, 0, 1, 2]));
    await peers[0]!.untilClosed();
    expect(closes(lines()).map((l) => l.reason)).toEqual(['bad frame length']);
    // The budget only thins the log: every connection was served.
    expect(errors(peers[0]!.frames)[0]).toMatch(/frame length 65537/);
    expect(peers.slice(1).some((p) => p.closed)).toBe(false);
  });
});
