// Path machine adoption at agent start (issue 15): the relay-link outlived the old agent, so WireGuard still
// sends a relayed peer to the same proxy port. The new agent must take that as "relayed" from its first pass —
// never `trying` (WireGuard pointed at the direct endpoint, dark for seconds) — with no path-change Event, and
// retry direct on the normal directRetryIntervalSeconds slots. Recorded timelines through the pure selector.
import { describe, expect, it } from 'vitest';
import { initialState, next, RELAY_SETTLE_MS, SLOT_JOIN_MS, UPGRADE_WINDOW_MS } from '../src/path/machine.js';
import { attemptSlots } from '../src/path/schedule.js';
import { type PathPeer, PathSelector, type SelectorInput } from '../src/path/selector.js';
import type { PathObservation, PathState, PathTimers, Reachability } from '../src/path/types.js';
import type { ObservedPeer } from '../src/plan/types.js';

const T0 = 1_800_000_000_000;
const LOCAL = 'hN5mQ1cV4yR0h3W0kZb6Gm3l1n7GdQb8t4Xv9p2JqWs=';
const PEER = 'Zt4Xv9p2JqWshN5mQ1cV4yR0h3W0kZb6Gm3l1n7GdQb=';
const DIRECT = '198.51.100.7:51820';
const PROXY = '127.0.0.1:40001';
const AUTO: PathTimers = { mode: 'auto', handshakeTimeoutMs: 10_000, directRetryIntervalMs: 30_000 };

function input(o: { endpoint?: string; relayReady?: boolean; remote?: Reachability }): SelectorInput {
  const wg: ObservedPeer = {
    publicKey: PEER,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    lastHandshakeMs: T0 - 5_000,
    rxBytes: 10_000,
    txBytes: 10_000,
  } as ObservedPeer;
  const peer: PathPeer = { name: 'node-b', publicKey: PEER, remote: o.remote ?? 'cone', sameLan: false };
  return {
    timers: AUTO,
    localKey: LOCAL,
    local: 'cone',
    peers: [peer],
    relayReady: o.relayReady ?? true,
    proxyEndpoint: () => PROXY,
    proxyActivity: () => ({ txPackets: 100, rxPackets: 100 }),
    observed: new Map([[PEER, wg]]),
    probes: new Map(),
  };
}

const obs = (partial: Partial<PathObservation>): PathObservation => ({
  timers: AUTO,
  relayReady: true,
  directPossible: true,
  endpoint: PROXY,
  proxyEndpoint: PROXY,
  rxBytes: 0,
  txBytes: 0,
  slots: { currentMs: T0 - 20_000, nextMs: T0 + 10_000 },
  ...partial,
});

describe('adoption at start', () => {
  it.each([
    ['on its proxy, relay ready, direct possible', {}, { kind: 'relay', reason: 'adopted' }],
    [
      'on its proxy, relay ready, NAT types rule direct out',
      { directPossible: false },
      { kind: 'relay', reason: 'nat-types' },
    ],
    ['on its proxy, relay not ready yet', { relayReady: false }, { kind: 'trying' }],
    ['on its direct endpoint', { endpoint: DIRECT }, { kind: 'trying' }],
    ['on a stale loopback port (not its proxy)', { endpoint: '127.0.0.1:39999' }, { kind: 'trying' }],
    [
      'mode always',
      { timers: { ...AUTO, mode: 'always' as const } },
      { kind: 'relay', reason: 'mode-always' },
    ],
    ['mode never', { timers: { ...AUTO, mode: 'never' as const } }, { kind: 'direct' }],
  ] as const)('%s → %o', (_name, partial, want) => {
    expect(initialState(obs(partial), T0)).toMatchObject({ ...want, sinceMs: T0 });
  });

  it('the restart timeline: relayed from the first pass, no Event, no apply, then direct retried at the slot', () => {
    const selector = new PathSelector();
    const at = (ms: number) => T0 + ms;
    // The agent's first pass (prepare): the endpoint stays on the proxy.
    expect(selector.use(input({ endpoint: PROXY }).peers[0]!, input({ endpoint: PROXY }), T0)).toEqual({
      path: 'relay',
      force: true,
    });
    const slots = attemptSlots(LOCAL, PEER, AUTO.directRetryIntervalMs, T0);
    // The first slot far enough after adoption to be joined (both sides must be there).
    const slot = slots.currentMs >= T0 + SLOT_JOIN_MS ? slots.currentMs : slots.nextMs;
    const timeline: Array<{ ms: number; path: string; applyNeeded: boolean; kind: string; changes: number }> =
      [];
    for (let ms = 250; ms < slot - T0 + UPGRADE_WINDOW_MS + 500; ms += 250) {
      const step = selector.step(input({ endpoint: PROXY }), at(ms));
      const i = input({ endpoint: PROXY });
      timeline.push({
        ms,
        path: selector.use(i.peers[0]!, i, at(ms)).path,
        applyNeeded: step.applyNeeded,
        kind: selector.state(PEER)!.kind,
        changes: step.changes.length,
      });
    }
    // Never an Event (the peer was relayed before and stays relayed; a failed upgrade is not a change either).
    expect(timeline.filter((t) => t.changes > 0)).toEqual([]);
    // Relayed all along until the slot: every apply keeps WireGuard on the proxy it already points at (the one
    // at the end of the settle period only stops holding it there).
    const before = timeline.filter((t) => at(t.ms) < slot);
    expect(before.filter((t) => t.kind !== 'relay' || t.path !== 'relay')).toEqual([]);
    expect(before.filter((t) => t.applyNeeded).map((t) => t.ms)).toEqual([RELAY_SETTLE_MS]);
    expect(before.length).toBeGreaterThan(RELAY_SETTLE_MS / 250);
    // At the slot: the make-before-break attempt (WireGuard pointed direct), then back on the proxy after it.
    const attempt = timeline.filter((t) => t.kind === 'trying');
    expect(attempt.length).toBeGreaterThan(0);
    expect(at(attempt[0]!.ms)).toBeGreaterThanOrEqual(slot);
    expect(at(attempt[0]!.ms)).toBeLessThan(slot + SLOT_JOIN_MS);
    expect(attempt[0]!.applyNeeded).toBe(true);
    expect(timeline.at(-1)!.kind).toBe('relay');
    expect(selector.state(PEER)).toMatchObject({ kind: 'relay', reason: 'adopted' });
  });

  it('a symmetric peer adopted on the relay is never retried for direct', () => {
    const selector = new PathSelector();
    const i = input({ endpoint: PROXY, remote: 'symmetric' });
    selector.use(i.peers[0]!, i, T0);
    for (let ms = 250; ms <= 3 * AUTO.directRetryIntervalMs; ms += 250) {
      const step = selector.step(i, T0 + ms);
      expect(step.changes).toEqual([]);
      expect(selector.state(PEER)).toMatchObject({ kind: 'relay', reason: 'nat-types' });
    }
  });

  it('the old defect: without the proxy view at the first pass the peer went to `trying` pointed direct', () => {
    // What the first pass saw with the relay inside the agent (new process, no proxy yet, a stale loopback port).
    const d = next(
      initialState(obs({ endpoint: '127.0.0.1:39999', proxyEndpoint: undefined }), T0),
      obs({
        endpoint: '127.0.0.1:39999',
        proxyEndpoint: undefined,
      }),
      T0,
    );
    expect(d.state.kind).toBe('trying');
    expect(d.use).toEqual({ path: 'direct', force: true });
  });

  it('a relay-link that was restarted (new proxy port): the stale loopback endpoint is replaced at once', () => {
    const relayed: PathState = { kind: 'relay', sinceMs: T0 - 60_000, reason: 'adopted' };
    const d = next(relayed, obs({ endpoint: '127.0.0.1:39999', proxyEndpoint: PROXY }), T0);
    expect(d.state).toBe(relayed);
    expect(d.use).toEqual({ path: 'relay', force: true });
    expect(d.change).toBeUndefined();
    // Once in place, it is held no more than any relayed peer.
    expect(next(relayed, obs({ endpoint: PROXY }), T0).use).toEqual({ path: 'relay', force: false });
  });
});
