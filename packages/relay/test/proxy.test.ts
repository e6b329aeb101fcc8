import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { RelayClient } from '../src/client/client.js';
import type { DataListener, RelayTransport } from '../src/client/transport.js';
import { UdpProxy } from '../src/proxy/udp-proxy.js';
import { ManualTimers } from './helpers/manual-timers.js';
import { eventually } from './helpers/raw-peer.js';
import { keyPair, startRelay } from './helpers/relay.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A UDP socket standing in for local WireGuard. */
async function fakeWireGuard(): Promise<{ socket: Socket; port: number; received: Array<[string, number]> }> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  cleanups.push(() => socket.close());
  const received: Array<[string, number]> = [];
  socket.on('message', (msg, rinfo) => received.push([msg.toString(), rinfo.port]));
  return { socket, port: socket.address().port, received };
}

/** An in-memory transport: records sends, lets the test inject Data. */
class FakeTransport implements RelayTransport {
  sent: Array<[Buffer, string]> = [];
  connected = true;
  private listeners = new Set<DataListener>();
  send(destination: Uint8Array, datagram: Uint8Array): boolean {
    if (!this.connected) return false;
    this.sent.push([Buffer.from(destination), Buffer.from(datagram).toString()]);
    return true;
  }
  onData(listener: DataListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  inject(source: Buffer, datagram: string): void {
    for (const listener of this.listeners) listener(source, Buffer.from(datagram));
  }
}

function proxy(options: ConstructorParameters<typeof UdpProxy>[0]): UdpProxy {
  const p = new UdpProxy(options);
  cleanups.push(() => p.close());
  return p;
}

describe('UdpProxy', () => {
  it('keeps one stable loopback port per peer while it exists', async () => {
    const wg = await fakeWireGuard();
    const p = proxy({ relay: new FakeTransport(), wireguardPort: wg.port });
    const peer = keyPair().publicKey;
    const [first, again] = await Promise.all([p.addPeer(peer), p.addPeer(peer)]);
    expect(first).toEqual(again);
    expect(first.host).toBe('127.0.0.1');
    expect(await p.addPeer(peer)).toEqual(first);
    expect(p.endpoint(peer)).toEqual(first);
    const other = await p.addPeer(keyPair().publicKey);
    expect(other.port).not.toBe(first.port);
    await p.removePeer(peer);
    expect(p.endpoint(peer)).toBeUndefined();
  });

  it('frames datagrams from WireGuard for the peer and delivers relayed ones from the peer socket', async () => {
    const wg = await fakeWireGuard();
    const transport = new FakeTransport();
    const p = proxy({ relay: transport, wireguardPort: wg.port });
    const peer = keyPair().publicKey;
    const endpoint = await p.addPeer(peer);
    wg.socket.send('handshake', endpoint.port, endpoint.host);
    await eventually(() => transport.sent.length === 1);
    expect(transport.sent[0]).toEqual([peer, 'handshake']);
    transport.inject(peer, 'response');
    await eventually(() => wg.received.length === 1);
    expect(wg.received[0]).toEqual(['response', endpoint.port]);
    const counters = p.counters(peer)!;
    expect([counters.txPackets, counters.rxPackets, counters.txBytes, counters.rxBytes]).toEqual([
      1, 1, 9, 8,
    ]);
  });

  it('stamps last tx/rx times from the injected clock', async () => {
    const wg = await fakeWireGuard();
    const transport = new FakeTransport();
    const timers = new ManualTimers();
    timers.advance(5_000);
    const p = proxy({ relay: transport, wireguardPort: wg.port, timers });
    const peer = keyPair().publicKey;
    const endpoint = await p.addPeer(peer);
    expect(p.counters(peer)).toMatchObject({ lastTxAt: 0, lastRxAt: 0 });
    wg.socket.send('out', endpoint.port, endpoint.host);
    await eventually(() => transport.sent.length === 1);
    timers.advance(2_500);
    transport.inject(peer, 'in');
    expect(p.counters(peer)).toMatchObject({ lastTxAt: 5_000, lastRxAt: 7_500 });
  });

  it('ignores local senders other than WireGuard, counts drops and unknown peers', async () => {
    const wg = await fakeWireGuard();
    const intruder = await fakeWireGuard();
    const transport = new FakeTransport();
    const unknown: Buffer[] = [];
    const p = proxy({ relay: transport, wireguardPort: wg.port, onUnknownPeer: (key) => unknown.push(key) });
    const peer = keyPair().publicKey;
    const endpoint = await p.addPeer(peer);
    // The proxy socket is connected to WireGuard, so the kernel refuses any other sender outright.
    intruder.socket.connect(endpoint.port, endpoint.host);
    await once(intruder.socket, 'connect');
    const refused = once(intruder.socket, 'error');
    intruder.socket.send('inject');
    expect(((await refused)[0] as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(p.drops.foreignSource).toBe(0);
    transport.connected = false;
    wg.socket.send('lost', endpoint.port, endpoint.host);
    await eventually(() => p.counters(peer)!.txDrops === 1);
    const stranger = keyPair().publicKey;
    transport.inject(stranger, 'who');
    expect(unknown).toEqual([stranger]);
    expect(transport.sent).toEqual([]);
  });

  it('counts relayed datagrams refused because WireGuard is not listening, and keeps delivering after', async () => {
    const closed = createSocket('udp4');
    closed.bind(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = closed.address().port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const transport = new FakeTransport();
    const p = proxy({ relay: transport, wireguardPort: port });
    const peer = keyPair().publicKey;
    await p.addPeer(peer);
    transport.inject(peer, 'first');
    await eventually(() => p.drops.wireguardRefused >= 1);
    transport.inject(peer, 'second');
    expect(p.counters(peer)).toMatchObject({ rxPackets: 2 });
  });

  it('carries WireGuard datagrams end to end through a real relay and two clients', async () => {
    const relay = await startRelay();
    cleanups.push(() => relay.close());
    const [a, b] = [keyPair(), keyPair()];
    const [wgA, wgB] = [await fakeWireGuard(), await fakeWireGuard()];
    const ca = new RelayClient({ host: '127.0.0.1', port: relay.port, ...a });
    const cb = new RelayClient({ host: '127.0.0.1', port: relay.port, ...b });
    cleanups.push(
      () => ca.close(),
      () => cb.close(),
    );
    ca.start();
    cb.start();
    const pa = proxy({ relay: ca, wireguardPort: wgA.port });
    const pb = proxy({ relay: cb, wireguardPort: wgB.port });
    const toB = await pa.addPeer(b.publicKey); // on A: the proxy for peer B
    const toA = await pb.addPeer(a.publicKey); // on B: the proxy for peer A
    await eventually(() => ca.ready && cb.ready);
    wgA.socket.send('ping', toB.port, toB.host);
    await eventually(() => wgB.received.length === 1);
    expect(wgB.received[0]).toEqual(['ping', toA.port]);
    wgB.socket.send('pong', toA.port, toA.host);
    await eventually(() => wgA.received.length === 1);
    expect(wgA.received[0]).toEqual(['pong', toB.port]);
  });
});
