import { describe, expect, it } from 'vitest';
import { discoverEndpoint } from '../src/endpoint/discover.js';
import {
  initialRecheckState,
  nextRecheck,
  previousEndpoint,
  type RecheckInput,
  type RecheckState,
  type RecheckTimers,
} from '../src/endpoint/recheck.js';
import { stunEndpoint } from '../src/endpoint/sources/stun.js';
import type { DiscoveryContext, EndpointSource } from '../src/endpoint/types.js';
import type { StunObservation } from '../src/nat/classify.js';

function ctx(overrides: Partial<DiscoveryContext> = {}): DiscoveryContext {
  return {
    listenPort: 51820,
    nodeAnnotations: {},
    nodeAddresses: [{ type: 'InternalIP', address: '10.1.0.2' }],
    hostAddresses: ['10.1.0.2'],
    stun: { observations: [], portInUse: false, natType: '' },
    ...overrides,
  };
}

/** Answers to a probe from an ephemeral local port, as the re-check makes while WireGuard holds its port. */
function fromEphemeral(address: string, ports: [number, number]): StunObservation[] {
  return ports.map((port, i) => ({ server: `s${i}`, mapped: { address, port } }));
}

const failed: StunObservation[] = [
  { server: 's0', error: 'no answer after 3 attempts' },
  { server: 's1', error: 'no answer after 3 attempts' },
];

describe('defect 1: a changed public IP is published while the interface holds the port', () => {
  it.each<[string, DiscoveryContext['stun'], string | undefined, string]>([
    [
      'cone NAT: the new IP with the port WireGuard had',
      { observations: fromEphemeral('198.51.100.77', [40123, 40123]), portInUse: true, natType: 'cone' },
      '203.0.113.100:51820',
      '198.51.100.77:51820',
    ],
    [
      'cone NAT that gave WireGuard another port (second host behind one NAT): that port',
      { observations: fromEphemeral('198.51.100.77', [61000, 61000]), portInUse: true, natType: 'cone' },
      '203.0.113.100:20999',
      '198.51.100.77:20999',
    ],
    [
      'cone NAT, nothing published yet: the listen port',
      { observations: fromEphemeral('198.51.100.77', [61000, 61000]), portInUse: true, natType: 'cone' },
      undefined,
      '198.51.100.77:51820',
    ],
    [
      'symmetric NAT: the new IP with the listen port (seed)',
      { observations: fromEphemeral('198.51.100.77', [61000, 62000]), portInUse: true, natType: 'symmetric' },
      '203.0.113.100:20999',
      '198.51.100.77:51820',
    ],
  ])('%s', (_name, stun, published, expected) => {
    const previous = published ? { endpoint: published, method: 'stun' as const } : undefined;
    expect(stunEndpoint(ctx({ stun, ...(previous ? { previous } : {}) }))).toEqual({
      endpoint: expected,
      method: 'stun',
    });
  });

  it('keeps the published endpoint while the ephemeral answer shows the same public IP (its port is WireGuard’s)', () => {
    const stun = {
      observations: fromEphemeral('203.0.113.100', [40123, 40123]),
      portInUse: true,
      natType: 'cone' as const,
    };
    expect(
      stunEndpoint(ctx({ stun, previous: { endpoint: '203.0.113.100:20999', method: 'stun' } })),
    ).toEqual({
      endpoint: '203.0.113.100:20999',
      method: 'stun',
    });
  });

  it('keeps a STUN-published endpoint when STUN was tried and nothing answered (seed)', () => {
    const stun = { observations: failed, portInUse: true, natType: '' as const };
    expect(
      stunEndpoint(ctx({ stun, previous: { endpoint: '203.0.113.100:51820', method: 'stun' } })),
    ).toEqual({
      endpoint: '203.0.113.100:51820',
      method: 'stun',
    });
  });
});

describe('defect 2: later endpoint sources run again at every re-check', () => {
  it('the STUN source claims nothing without STUN servers, whatever was published', () => {
    const stun = { observations: [], portInUse: true, natType: '' as const };
    expect(stunEndpoint(ctx({ stun, previous: { endpoint: '203.0.113.40:51820', method: 'upnp' } }))).toBe(
      undefined,
    );
  });

  it('the STUN source never re-publishes another method’s endpoint when STUN fails', () => {
    const stun = { observations: failed, portInUse: true, natType: '' as const };
    expect(stunEndpoint(ctx({ stun, previous: { endpoint: '10.1.0.2:51820', method: 'internal' } }))).toBe(
      undefined,
    );
  });

  it('so the UPnP source runs (and renews its mapping) on every round after start-up', async () => {
    let upnpRuns = 0;
    const upnp: EndpointSource = {
      method: 'upnp',
      discover: async (c) => {
        upnpRuns += 1;
        return { endpoint: `203.0.113.40:${c.listenPort}`, method: 'upnp', refreshWithinMs: 1_800_000 };
      },
    };
    const stun: EndpointSource = { method: 'stun', discover: async (c) => stunEndpoint(c) };
    const heldNoServers = { observations: [], portInUse: true, natType: '' as const };
    for (let round = 0; round < 3; round++) {
      const found = await discoverEndpoint(
        [stun, upnp],
        ctx({ stun: heldNoServers, previous: { endpoint: '203.0.113.40:51820', method: 'upnp' } }),
      );
      expect(found.method).toBe('upnp');
    }
    expect(upnpRuns).toBe(3);
  });

  it('a UPnP endpoint is re-discovered at half its lease even when the interval is longer', () => {
    const timers: RecheckTimers = { intervalMs: 2 * 3_600_000, retryMs: 30_000 };
    const endpoint = { endpoint: '203.0.113.40:51820', method: 'upnp' as const, refreshWithinMs: 1_800_000 };
    const found = nextRecheck(
      initialRecheckState,
      { type: 'found', nowMs: 0, listenPort: 51820, endpoint },
      timers,
    );
    expect(found.wakeAt).toBe(1_800_000);
    const early = observe(found.state, 1_799_999, {}, timers);
    expect(early.effects).toEqual([]);
    expect(early.wakeAt).toBe(1_800_000);
    expect(observe(found.state, 1_800_000, {}, timers).effects).toEqual([
      { type: 'discover', reason: 'refresh', trustPrevious: true },
    ]);
  });
});

function observe(
  state: RecheckState,
  nowMs: number,
  over: Partial<RecheckInput> = {},
  timers: RecheckTimers = { intervalMs: 300_000, retryMs: 30_000 },
) {
  return nextRecheck(
    state,
    { type: 'observe', nowMs, listenPort: 51820, ownPeerExists: true, ...over } as RecheckInput,
    timers,
  );
}

describe('re-check timeline', () => {
  const stunFound = { endpoint: '203.0.113.100:51820', method: 'stun' as const };
  const afterStart = () => {
    const first = observe(initialRecheckState, 0, { ownPeerExists: false });
    expect(first.effects).toEqual([{ type: 'discover', reason: 'start', trustPrevious: true }]);
    return nextRecheck(
      first.state,
      { type: 'found', nowMs: 1_000, listenPort: 51820, endpoint: stunFound },
      { intervalMs: 300_000, retryMs: 30_000 },
    ).state;
  };

  it('runs every interval', () => {
    const state = observe(afterStart(), 2_000).state; // the created own peer is seen
    expect(observe(state, 300_999).effects).toEqual([]);
    expect(observe(state, 301_000).effects).toEqual([
      { type: 'discover', reason: 'interval', trustPrevious: true },
    ]);
  });

  it('retries a failed round sooner, and keeps retrying at that pace', () => {
    const state = observe(afterStart(), 2_000).state;
    const failedRound = nextRecheck(
      state,
      { type: 'failed', nowMs: 301_000, listenPort: 51820 },
      { intervalMs: 300_000, retryMs: 30_000 },
    );
    expect(failedRound.wakeAt).toBe(331_000);
    expect(observe(failedRound.state, 331_000).effects).toEqual([
      { type: 'discover', reason: 'retry', trustPrevious: true },
    ]);
  });

  it('defect 3: a listen-port change re-discovers at once without trusting the old port', () => {
    const state = observe(afterStart(), 2_000).state;
    const moved = observe(state, 3_000, { listenPort: 51999 });
    expect(moved.effects).toEqual([{ type: 'discover', reason: 'listen-port', trustPrevious: false }]);
    const failedRound = nextRecheck(
      moved.state,
      { type: 'failed', nowMs: 3_500, listenPort: 51999 },
      { intervalMs: 300_000, retryMs: 30_000 },
    );
    // No busy loop on the failure, and the retry still distrusts the endpoint published for the old port.
    expect(observe(failedRound.state, 4_000, { listenPort: 51999 }).effects).toEqual([]);
    expect(observe(failedRound.state, 33_500, { listenPort: 51999 }).effects).toEqual([
      { type: 'discover', reason: 'retry', trustPrevious: false },
    ]);
  });

  it('defect 4: the own WireKubePeer vanishing triggers a round at once, once', () => {
    const seen = observe(afterStart(), 2_000).state;
    const gone = observe(seen, 3_000, { ownPeerExists: false });
    expect(gone.effects).toEqual([{ type: 'discover', reason: 'own-peer-deleted', trustPrevious: true }]);
    const after = nextRecheck(
      gone.state,
      { type: 'found', nowMs: 3_100, listenPort: 51820, endpoint: stunFound },
      { intervalMs: 300_000, retryMs: 30_000 },
    );
    // Left out (the Node is labelled out of the mesh): it stays missing, and nothing runs again before the interval.
    expect(observe(after.state, 3_200, { ownPeerExists: false }).effects).toEqual([]);
  });

  it('a deleted own peer is recreated with what this agent last published', () => {
    expect(previousEndpoint(undefined, stunFound)).toEqual(stunFound);
    expect(previousEndpoint({ endpoint: '203.0.113.1:51820', method: 'stun' }, stunFound)).toEqual({
      endpoint: '203.0.113.1:51820',
      method: 'stun',
    });
    expect(previousEndpoint(undefined, undefined)).toBeUndefined();
  });
});
