import { describe, expect, it } from 'vitest';
import { peerTransports, withPaths } from '../src/path/endpoints.js';
import { plan } from '../src/plan/plan.js';
import type { DesiredNode, ObservedPeer } from '../src/plan/types.js';
import { input, KEYS, NOW, peer } from './fixtures.js';

const PROXY: Record<string, string> = { [KEYS.a]: '127.0.0.1:40001', [KEYS.b]: '127.0.0.1:40002' };
const proxyOf = (key: string) => PROXY[key];

function desired(): DesiredNode {
  return plan(
    input({
      peers: [
        peer('a', { publicKey: KEYS.a, endpoint: '198.51.100.7:51820', allowedIPs: ['10.0.0.2/32'] }),
        peer('b', { publicKey: KEYS.b, endpoint: '198.51.100.8:51820', allowedIPs: ['10.0.0.3/32'] }),
      ],
    }),
  );
}

describe('withPaths', () => {
  it('relayed peers point at their proxy; forced only when the machine moves them', () => {
    const out = withPaths(
      desired(),
      (p) => (p.name === 'node-a' ? { path: 'relay', force: true } : { path: 'relay', force: false }),
      proxyOf,
    );
    expect(out.device.peers.map((p) => [p.name, p.endpoint, p.keepRoamedEndpoint])).toEqual([
      ['node-a', '127.0.0.1:40001', false],
      ['node-b', '127.0.0.1:40002', true],
    ]);
  });

  it('a forced direct use overrides a roamed endpoint with the published one; unforced leaves plan alone', () => {
    const base = desired();
    const out = withPaths(
      base,
      (p) => (p.name === 'node-a' ? { path: 'direct', force: true } : { path: 'direct', force: false }),
      proxyOf,
    );
    expect(out.device.peers[0]).toMatchObject({ endpoint: '198.51.100.7:51820', keepRoamedEndpoint: false });
    expect(out.device.peers[1]).toEqual(base.device.peers[1]);
  });

  it('a relay use without a proxy (no relay configured) keeps the plan', () => {
    const base = desired();
    expect(
      withPaths(
        base,
        () => ({ path: 'relay', force: true }),
        () => undefined,
      ),
    ).toEqual(base);
  });
});

describe('peerTransports', () => {
  const wg = (key: string, endpoint: string, ageMs: number): [string, ObservedPeer] => [
    key,
    { publicKey: key, endpoint, lastHandshakeMs: NOW - ageMs, rxBytes: 1, txBytes: 1 },
  ];

  it('reads the path from WireGuard: proxy endpoint → relay, anything else → direct', () => {
    const observed = new Map([wg(KEYS.a, '127.0.0.1:40001', 5_000), wg(KEYS.b, '198.51.100.8:51820', 5_000)]);
    expect(Object.fromEntries(peerTransports(desired().device.peers, observed, proxyOf, NOW))).toEqual({
      'node-a': 'relay',
      'node-b': 'direct',
    });
  });

  it('no fresh handshake on either path: left out; an unproven direct attempt: left out', () => {
    const observed = new Map([
      wg(KEYS.a, '198.51.100.7:51820', 200_000),
      wg(KEYS.b, '198.51.100.8:51820', 1_000),
    ]);
    expect(peerTransports(desired().device.peers, observed, proxyOf, NOW).size).toBe(1);
    expect(peerTransports(desired().device.peers, observed, proxyOf, NOW, (k) => k === KEYS.b).size).toBe(0);
  });
});
