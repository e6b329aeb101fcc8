import { describe, expect, it } from 'vitest';
import { plan } from '../src/plan/plan.js';
import { aggregateTransport, computeStatus } from '../src/status/compute.js';
import { HANDSHAKE_WRITE_INTERVAL_MS, statusWriteDue } from '../src/status/throttle.js';
import { input, KEYS, NOW, peer } from './fixtures.js';

describe('computeStatus', () => {
  it('reports connected, the latest handshake, NAT type, method and per-peer transports', () => {
    const observed = new Map([
      [KEYS.a, { publicKey: KEYS.a, lastHandshakeMs: NOW - 5_000, rxBytes: 10, txBytes: 10 }],
      [KEYS.b, { publicKey: KEYS.b, lastHandshakeMs: NOW - 50_000, rxBytes: 10, txBytes: 10 }],
    ]);
    const desired = plan(
      input({
        peers: [
          peer('a', { publicKey: KEYS.a, allowedIPs: ['10.0.0.2/32'] }),
          peer('b', { publicKey: KEYS.b, allowedIPs: ['10.0.0.3/32'] }),
        ],
        observed,
      }),
    );
    expect(computeStatus({ desired, observed, natType: 'cone', endpointDiscoveryMethod: 'stun' })).toEqual({
      connected: true,
      natType: 'cone',
      transportMode: 'direct',
      peerTransports: { 'node-a': 'direct', 'node-b': 'direct' },
      endpointDiscoveryMethod: 'stun',
      lastHandshake: new Date(NOW - 5_000).toISOString().replace('.000', ''),
    });
  });

  it('without peers: not connected, no transport mode, NAT type published even when undetermined', () => {
    const desired = plan(input());
    expect(computeStatus({ desired, observed: new Map(), natType: '' })).toEqual({
      connected: false,
      natType: '',
      peerTransports: {},
    });
  });

  it('aggregates transports', () => {
    expect(aggregateTransport([])).toBeUndefined();
    expect(aggregateTransport(['direct', 'direct'])).toBe('direct');
    expect(aggregateTransport(['relay'])).toBe('relay');
    expect(aggregateTransport(['direct', 'relay'])).toBe('mixed');
  });
});

describe('statusWriteDue', () => {
  const base = { connected: true, natType: 'cone' as const, lastHandshake: '2026-11-23T12:00:00Z' };

  it('writes the first status and any change other than lastHandshake at once', () => {
    expect(statusWriteDue(undefined, base, NOW)).toBe(true);
    expect(statusWriteDue({ status: base, atMs: NOW }, { ...base, connected: false }, NOW + 1)).toBe(true);
    expect(statusWriteDue({ status: base, atMs: NOW }, { ...base, natType: 'symmetric' }, NOW + 1)).toBe(
      true,
    );
  });

  it('writes nothing when nothing changed', () => {
    expect(
      statusWriteDue({ status: base, atMs: NOW }, { ...base }, NOW + HANDSHAKE_WRITE_INTERVAL_MS * 5),
    ).toBe(false);
  });

  it('holds a moved lastHandshake for ten minutes after the previous write', () => {
    const moved = { ...base, lastHandshake: '2026-11-23T12:02:00Z' };
    expect(statusWriteDue({ status: base, atMs: NOW }, moved, NOW + 2 * 60_000)).toBe(false);
    expect(statusWriteDue({ status: base, atMs: NOW }, moved, NOW + HANDSHAKE_WRITE_INTERVAL_MS)).toBe(true);
  });

  it('ignores key order and undefined fields', () => {
    expect(
      statusWriteDue(
        { status: { natType: 'cone', connected: true }, atMs: NOW },
        { connected: true, natType: 'cone', endpointDiscoveryMethod: undefined },
        NOW,
      ),
    ).toBe(false);
  });
});
