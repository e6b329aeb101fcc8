import { afterEach, describe, expect, it } from 'vitest';
import { RelayPool } from '../src/client/pool.js';
import { ManualTimers } from './helpers/manual-timers.js';
import { eventually } from './helpers/raw-peer.js';
import { keyPair, startRelay, type TestRelay } from './helpers/relay.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Two relay replicas on one port, at 127.0.0.1 and 127.0.0.2 (all of 127/8 is loopback). */
async function replicas(): Promise<[TestRelay, TestRelay, number]> {
  const first = await startRelay({}, '127.0.0.1');
  cleanups.push(() => first.close());
  const second = await startRelay({}, '127.0.0.2', first.port);
  cleanups.push(() => second.close());
  return [first, second, first.port];
}

function pool(options: ConstructorParameters<typeof RelayPool>[0]): RelayPool {
  const p = new RelayPool({ random: () => 0, ...options });
  cleanups.push(() => p.close());
  return p;
}

describe('RelayPool', () => {
  it('keeps one connection per resolved replica and re-resolves every 30 s', async () => {
    const [first, second, port] = await replicas();
    const timers = new ManualTimers();
    let answer = ['127.0.0.1'];
    const lookups: string[] = [];
    const p = pool({
      host: 'relay.wirekube-system.svc',
      port,
      ...keyPair(),
      timers,
      // Jumping the manual clock by 30 s would look like a dead relay to the ping liveness check.
      extensions: false,
      resolve: async (host) => {
        lookups.push(host);
        return answer;
      },
    });
    await p.start();
    await eventually(() => p.readyCount === 1 && first.server.registeredKeyCount === 1);
    expect(p.addresses).toEqual(['127.0.0.1']);
    answer = ['127.0.0.1', '127.0.0.2'];
    timers.advance(29_999);
    expect(lookups).toHaveLength(1);
    timers.advance(1);
    await eventually(() => p.readyCount === 2 && second.server.registeredKeyCount === 1);
    answer = ['127.0.0.2'];
    timers.advance(30_000);
    await eventually(() => p.addresses.length === 1 && first.server.registeredKeyCount === 0);
    expect(p.addresses).toEqual(['127.0.0.2']);
    expect(lookups).toEqual(Array(3).fill('relay.wirekube-system.svc'));
  });

  it('keeps its replicas when a re-resolution fails', async () => {
    const [, , port] = await replicas();
    const timers = new ManualTimers();
    let fail = false;
    const p = pool({
      host: 'relay',
      port,
      ...keyPair(),
      timers,
      resolve: async () => {
        if (fail) throw new Error('SERVFAIL');
        return ['127.0.0.1', '127.0.0.2'];
      },
    });
    await p.start();
    await eventually(() => p.readyCount === 2);
    fail = true;
    timers.advance(30_000);
    await p.refresh();
    expect(p.addresses).toEqual(['127.0.0.1', '127.0.0.2']);
  });

  it('sends through any connected replica and delivers from all of them', async () => {
    const [first, , port] = await replicas();
    const [a, b] = [keyPair(), keyPair()];
    const resolve = async () => ['127.0.0.1', '127.0.0.2'];
    const pa = pool({ host: 'relay', port, ...a, resolve });
    const pb = pool({ host: 'relay', port, ...b, resolve });
    const got: string[] = [];
    pb.onData((source, datagram) => {
      expect(source).toEqual(a.publicKey);
      got.push(datagram.toString());
    });
    await pa.start();
    await pb.start();
    await eventually(() => pa.readyCount === 2 && pb.readyCount === 2);
    expect(pa.send(b.publicKey, Buffer.from('one'))).toBe(true);
    await eventually(() => got.length === 1);
    // The preferred replica goes away: traffic moves to the other one.
    await first.close();
    await eventually(() => pa.readyCount === 1 && pb.readyCount === 1);
    expect(pa.send(b.publicKey, Buffer.from('two'))).toBe(true);
    await eventually(() => got.length === 2);
    expect(got).toEqual(['one', 'two']);
  });

  it('carries control messages through a replica and fails over like Data', async () => {
    const [first, , port] = await replicas();
    const [a, b] = [keyPair(), keyPair()];
    const resolve = async () => ['127.0.0.1', '127.0.0.2'];
    const pa = pool({ host: 'relay', port, ...a, resolve });
    const pb = pool({ host: 'relay', port, ...b, resolve });
    const got: string[] = [];
    pb.onControl((from, payload) => got.push(`${from.equals(a.publicKey)}:${payload}`));
    await pa.start();
    await pb.start();
    await eventually(() => pa.readyCount === 2 && pb.readyCount === 2);
    expect(pa.sendControl(b.publicKey, Buffer.from('one'))).toBe(true);
    await eventually(() => got.length === 1);
    await first.close();
    await eventually(() => pa.readyCount === 1 && pb.readyCount === 1);
    expect(pa.sendControl(b.publicKey, Buffer.from('two'))).toBe(true);
    await eventually(() => got.length === 2);
    expect(got).toEqual(['true:one', 'true:two']);
  });

  it('refuses to send when no replica is connected', async () => {
    const p = pool({ host: 'relay', port: 1, ...keyPair(), resolve: async () => [] });
    await p.start();
    expect(p.send(keyPair().publicKey, Buffer.from('x'))).toBe(false);
    expect(p.sendControl(keyPair().publicKey, Buffer.from('x'))).toBe(false);
  });
});
