import { createSocket } from 'node:dgram';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeProbe, encodeProbe, PROBE_PORT } from '../src/probe/codec.js';
import { Prober } from '../src/probe/prober.js';
import { ProbeResponder } from '../src/probe/responder.js';

const log = pino({ level: 'silent' });
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('probe codec', () => {
  it('round-trips requests and replies', () => {
    expect(decodeProbe(encodeProbe('request', 42n))).toEqual({ kind: 'request', token: 42n });
    expect(decodeProbe(encodeProbe('reply', 2n ** 64n - 1n))).toEqual({
      kind: 'reply',
      token: 2n ** 64n - 1n,
    });
  });
  it('ignores anything else', () => {
    expect(decodeProbe(Buffer.alloc(13))).toBeUndefined();
    expect(decodeProbe(encodeProbe('request', 1n).subarray(0, 12))).toBeUndefined();
    const bad = encodeProbe('request', 1n);
    bad.writeUInt8(7, 4);
    expect(decodeProbe(bad)).toBeUndefined();
  });
  it('uses a fixed port next to WireGuard’s', () => {
    expect(PROBE_PORT).toBe(51819);
  });
});

describe('Prober ↔ ProbeResponder (real UDP on loopback)', () => {
  it('an answered probe reports its round-trip time', async () => {
    const responder = new ProbeResponder(log, 0);
    cleanups.push(() => responder.close());
    await responder.set('127.0.0.1');
    const prober = new Prober({ port: responder.boundPort! });
    cleanups.push(() => prober.close());
    const before = Date.now();
    const result = await prober.probe('127.0.0.1');
    expect(result.ok).toBe(true);
    expect(result.sentAtMs).toBeGreaterThanOrEqual(before);
    expect(result.rttMs).toBeGreaterThan(0);
  });

  it('an unanswered probe fails after the timeout', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    cleanups.push(() => silent.close());
    const prober = new Prober({ port: silent.address().port, timeoutMs: 100 });
    cleanups.push(() => prober.close());
    const result = await prober.probe('127.0.0.1');
    expect(result).toMatchObject({ ok: false });
    expect(result.rttMs).toBeUndefined();
  });

  it('the responder answers only probe requests, and set(undefined) stops it', async () => {
    const responder = new ProbeResponder(log, 0);
    cleanups.push(() => responder.close());
    await responder.set('127.0.0.1');
    const port = responder.boundPort!;
    const client = createSocket('udp4');
    cleanups.push(() => client.close());
    const replies: Buffer[] = [];
    client.on('message', (m) => replies.push(m));
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
    client.send(Buffer.from('hello'), port, '127.0.0.1');
    client.send(encodeProbe('reply', 5n), port, '127.0.0.1');
    client.send(encodeProbe('request', 9n), port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 100));
    expect(replies.map((r) => decodeProbe(r))).toEqual([{ kind: 'reply', token: 9n }]);
    await responder.set(undefined);
    expect(responder.boundPort).toBeUndefined();
  });

  it('a responder that cannot bind (address not on this host) logs and carries on', async () => {
    const responder = new ProbeResponder(log, 0);
    await responder.set('192.0.2.77');
    expect(responder.boundPort).toBeUndefined();
  });
});
