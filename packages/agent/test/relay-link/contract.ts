import { createSocket, type Socket } from 'node:dgram';
import { generateRawKeyPair, keyToBase64 } from '@wirekube/relay';
import { afterEach, describe, expect, it } from 'vitest';
import type { DesiredRelay, RelayLink } from '../../src/relay/connection.js';
import type { RelayTarget } from '../../src/relay/target.js';

export interface NodeKeys {
  publicKey: string;
  privateKey: string;
}

export function nodeKeys(): NodeKeys {
  const k = generateRawKeyPair();
  return { publicKey: keyToBase64(k.publicKey), privateKey: keyToBase64(k.privateKey) };
}

/** What a contract run needs: a relay to point at and a way to make a RelayLink for a node's keys. */
export interface LinkHarness {
  target(): RelayTarget;
  create(keys: NodeKeys): Promise<RelayLink>;
  /** Called after each test. */
  cleanup(): Promise<void>;
}

export async function until(link: RelayLink, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await link.refresh?.();
    if (check()) return;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A stand-in for WireGuard: a UDP socket on loopback at the port the proxy delivers to. */
async function wireguard(): Promise<{ socket: Socket; port: number; received: Buffer[] }> {
  const socket = createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (m) => received.push(m));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { socket, port: socket.address().port, received };
}

function send(socket: Socket, endpoint: string, payload: Buffer): Promise<void> {
  const [host, port] = endpoint.split(':');
  return new Promise((r, j) => socket.send(payload, Number(port), host, (e) => (e ? j(e) : r())));
}

/** The behaviour every RelayLink keeps, whether the relay connection lives in this process or another. */
export function relayLinkContract(name: string, harness: () => LinkHarness): void {
  describe(`RelayLink contract: ${name}`, () => {
    let h: LinkHarness;
    const sockets: Socket[] = [];
    afterEach(async () => {
      for (const s of sockets.splice(0)) s.close();
      await h?.cleanup();
    });

    it('no target: not ready, no proxy endpoints, no addresses', async () => {
      h = harness();
      const a = nodeKeys();
      const link = await h.create(a);
      await link.set({ peers: [nodeKeys().publicKey], wireguardPort: 51820 });
      await link.refresh?.();
      expect(link.ready).toBe(false);
      expect(link.addresses).toEqual([]);
      await link.close();
    });

    it('a target: ready, the relay address, one loopback port per peer that stays while the peer stays', async () => {
      h = harness();
      const [p1, p2] = [nodeKeys().publicKey, nodeKeys().publicKey];
      const link = await h.create(nodeKeys());
      const desired: DesiredRelay = { target: h.target(), peers: [p1, p2], wireguardPort: 51820 };
      await link.set(desired);
      await until(link, () => link.ready);
      expect(link.addresses).toEqual(['127.0.0.1']);
      const [e1, e2] = [link.proxyEndpoint(p1), link.proxyEndpoint(p2)];
      expect(e1).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(e2).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(e1).not.toBe(e2);
      await link.set(desired);
      expect(link.proxyEndpoint(p1)).toBe(e1);
      await link.set({ ...desired, peers: [p2] });
      expect(link.proxyEndpoint(p1)).toBeUndefined();
      expect(link.proxyEndpoint(p2)).toBe(e2);
      await link.close();
    });

    it('carries a datagram between two nodes through the relay, counted on both sides', async () => {
      h = harness();
      const [a, b] = [nodeKeys(), nodeKeys()];
      const [wgA, wgB] = [await wireguard(), await wireguard()];
      sockets.push(wgA.socket, wgB.socket);
      const [linkA, linkB] = [await h.create(a), await h.create(b)];
      await linkA.set({ target: h.target(), peers: [b.publicKey], wireguardPort: wgA.port });
      await linkB.set({ target: h.target(), peers: [a.publicKey], wireguardPort: wgB.port });
      await until(linkA, () => linkA.ready);
      await until(linkB, () => linkB.ready);
      const payload = Buffer.from('a wireguard datagram');
      const sentAt = performance.now();
      await until(linkB, () => {
        void send(wgA.socket, linkA.proxyEndpoint(b.publicKey)!, payload);
        return wgB.received.length > 0;
      });
      expect(wgB.received[0]).toEqual(payload);
      await until(linkA, () => (linkA.proxyCounters(b.publicKey)?.txPackets ?? 0) > 0);
      const rx = linkB.proxyCounters(a.publicKey)!;
      expect(rx.rxPackets).toBeGreaterThan(0);
      expect(rx.rxBytes).toBeGreaterThanOrEqual(payload.length);
      // Times are on this process's monotonic clock, whichever process the proxy runs in.
      expect(rx.lastRxAt).toBeGreaterThan(sentAt - 1_000);
      expect(rx.lastRxAt).toBeLessThanOrEqual(performance.now() + 50);
      await linkA.close();
      await linkB.close();
    });

    it('a target taken away (mode never) closes the relay connection', async () => {
      h = harness();
      const p1 = nodeKeys().publicKey;
      const link = await h.create(nodeKeys());
      await link.set({ target: h.target(), peers: [p1], wireguardPort: 51820 });
      await until(link, () => link.ready);
      await link.set({ peers: [p1], wireguardPort: 51820 });
      await link.refresh?.();
      expect(link.ready).toBe(false);
      expect(link.proxyEndpoint(p1)).toBeUndefined();
      expect(link.addresses).toEqual([]);
      await link.close();
    });
  });
}
