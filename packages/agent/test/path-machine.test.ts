import { describe, expect, it } from 'vitest';
import { directPossible, reachability } from '../src/path/eligibility.js';
import {
  initialState,
  next,
  RELAY_SETTLE_MS,
  RESAMPLE_MS,
  settledPath,
  UPGRADE_WINDOW_MS,
} from '../src/path/machine.js';
import { attemptSlots } from '../src/path/schedule.js';
import type { PathDecision, PathObservation, PathState, PathTimers } from '../src/path/types.js';

const T0 = 1_800_000_000_000;
const DIRECT = '203.0.113.100:51820';
const PROXY = '127.0.0.1:40001';
const AUTO: PathTimers = { mode: 'auto', handshakeTimeoutMs: 30_000, directRetryIntervalMs: 120_000 };

/** A slot far away unless a step says otherwise. */
const NO_SLOT = { currentMs: T0 - 60_000, nextMs: T0 + 60_000 };

function obs(partial: Partial<PathObservation> = {}): PathObservation {
  return {
    timers: AUTO,
    relayReady: true,
    directPossible: true,
    endpoint: DIRECT,
    proxyEndpoint: PROXY,
    rxBytes: 0,
    txBytes: 0,
    slots: NO_SLOT,
    ...partial,
  };
}

interface Step {
  /** Milliseconds after T0. */
  at: number;
  o: Partial<PathObservation>;
}

/** Replays a recorded timeline through the machine, returning every decision with its time. */
function replay(start: PathState, steps: readonly Step[]): Array<PathDecision & { at: number }> {
  let state = start;
  const out: Array<PathDecision & { at: number }> = [];
  for (const s of steps) {
    const d = next(state, obs(s.o), T0 + s.at);
    out.push({ ...d, at: s.at });
    state = d.state;
  }
  return out;
}

function changes(decisions: ReadonlyArray<PathDecision & { at: number }>) {
  return decisions.filter((d) => d.change).map((d) => ({ at: d.at, ...d.change }));
}

const directState = (last = { rx: 0, tx: 0 }): PathState => ({ kind: 'direct', sinceMs: T0, last });
const relayState = (reason: 'handshake-timeout' | 'liveness-lost' = 'handshake-timeout'): PathState => ({
  kind: 'relay',
  sinceMs: T0,
  reason,
});

describe('initialState', () => {
  it.each([
    ['never', true, true, 'direct'],
    ['always', true, true, 'relay'],
    ['auto', true, true, 'trying'],
    ['auto', false, true, 'relay'],
    // No relay to fall back to: even an impossible pair tries direct.
    ['auto', false, false, 'trying'],
  ] as const)('mode %s, direct possible %s, relay ready %s → %s', (mode, possible, ready, kind) => {
    const state = initialState(
      obs({ timers: { ...AUTO, mode }, directPossible: possible, relayReady: ready }),
      T0,
    );
    expect(state.kind).toBe(kind);
  });

  it('symmetric↔cone goes to the relay at once, for the NAT types', () => {
    const state = initialState(obs({ directPossible: false }), T0);
    expect(state).toEqual({ kind: 'relay', sinceMs: T0, reason: 'nat-types' });
  });
});

describe('mode never', () => {
  const never = { timers: { ...AUTO, mode: 'never' as const } };

  it('stays direct whatever happens, never probes and never wakes itself', () => {
    const ds = replay(directState(), [
      { at: 1_000, o: { ...never, txBytes: 10_000 } },
      { at: 2_000, o: { ...never, txBytes: 20_000 } },
      { at: 3_000, o: { ...never, txBytes: 30_000, probe: { sentAtMs: T0 + 1_000, ok: false } } },
    ]);
    for (const d of ds) {
      expect(d.use).toEqual({ path: 'direct', force: false });
      expect(d.probe).toBe(false);
      expect(d.wakeAtMs).toBeUndefined();
    }
    expect(changes(ds)).toEqual([]);
  });

  it('moves a relayed peer back to direct, forcing it off the loopback proxy, with reason mode-never', () => {
    const [d] = replay(relayState(), [
      { at: 100, o: { ...never, endpoint: PROXY, proxyEndpoint: undefined } },
    ]);
    expect(d?.state.kind).toBe('direct');
    expect(d?.use).toEqual({ path: 'direct', force: true });
    expect(d?.change).toEqual({ from: 'relay', to: 'direct', reason: 'mode-never' });
  });
});

describe('mode never → auto', () => {
  const never = { timers: { ...AUTO, mode: 'never' as const } };

  it('a peer direct only by mode is re-checked: impossible NAT types go to the relay at once', () => {
    const ds = replay(relayState(), [
      { at: 100, o: { ...never, endpoint: PROXY } },
      { at: 5_000, o: { ...never, lastHandshakeMs: T0 - 1_000 } },
      { at: 6_000, o: { directPossible: false, lastHandshakeMs: T0 - 1_000 } },
    ]);
    expect(ds[1]?.state).toMatchObject({ kind: 'direct', byMode: true });
    expect(changes(ds)).toEqual([
      { at: 100, from: 'relay', to: 'direct', reason: 'mode-never' },
      { at: 6_000, from: 'direct', to: 'relay', reason: 'nat-types' },
    ]);
  });

  it('a possible pair must prove itself with a probe (its session may have lived on the relay)', () => {
    const ds = replay({ kind: 'direct', sinceMs: T0, last: { rx: 0, tx: 0 }, byMode: true }, [
      { at: 1_000, o: { lastHandshakeMs: T0 - 1_000 } },
    ]);
    expect(ds[0]?.state.kind).toBe('trying');
    expect(ds[0]?.probe).toBe(true);
  });
});

describe('mode always', () => {
  const always = { timers: { ...AUTO, mode: 'always' as const } };

  it('relays a direct peer and holds the proxy endpoint even against a roam', () => {
    const ds = replay(directState(), [
      { at: 100, o: always },
      { at: 5_000, o: { ...always, endpoint: DIRECT } },
      {
        at: 200_000,
        o: { ...always, endpoint: DIRECT, slots: { currentMs: T0 + 199_900, nextMs: T0 + 319_900 } },
      },
    ]);
    expect(ds.map((d) => d.use)).toEqual([
      { path: 'relay', force: true },
      { path: 'relay', force: true },
      { path: 'relay', force: true },
    ]);
    expect(changes(ds)).toEqual([{ at: 100, from: 'direct', to: 'relay', reason: 'mode-always' }]);
  });

  it('back to auto: the relayed peer upgrades at the next shared slot', () => {
    const ds = replay(relayState(), [
      { at: 100, o: always },
      { at: 10_000, o: { endpoint: PROXY } },
      { at: 20_100, o: { endpoint: PROXY, slots: { currentMs: T0 + 20_000, nextMs: T0 + 140_000 } } },
    ]);
    expect(ds[1]?.use).toEqual({ path: 'relay', force: false });
    expect(ds[2]?.state.kind).toBe('trying');
    expect(ds[2]?.use).toEqual({ path: 'direct', force: true });
  });
});

describe('mode auto: first contact', () => {
  const start = (): PathState => initialState(obs(), T0);

  it('a handshake within handshakeTimeoutSeconds makes the peer direct, without an event', () => {
    const ds = replay(start(), [
      { at: 250, o: { txBytes: 148 } },
      { at: 500, o: { txBytes: 148, rxBytes: 92, lastHandshakeMs: T0 + 400 } },
    ]);
    expect(ds[0]?.state.kind).toBe('trying');
    expect(ds[0]?.probe).toBe(false);
    expect(ds[0]?.wakeAtMs).toBe(T0 + 30_000);
    expect(ds[1]?.state.kind).toBe('direct');
    expect(changes(ds)).toEqual([]);
  });

  it('no handshake within handshakeTimeoutSeconds → relay (handshake-timeout), endpoint forced to the proxy', () => {
    const ds = replay(start(), [
      { at: 5_000, o: { txBytes: 148 } },
      { at: 29_999, o: { txBytes: 148 * 6 } },
      { at: 30_000, o: { txBytes: 148 * 7 } },
      { at: 31_000, o: { endpoint: PROXY } },
    ]);
    expect(ds[1]?.state.kind).toBe('trying');
    expect(ds[2]?.state).toEqual({ kind: 'relay', sinceMs: T0 + 30_000, reason: 'handshake-timeout' });
    expect(ds[2]?.use).toEqual({ path: 'relay', force: true });
    expect(ds[3]?.use).toEqual({ path: 'relay', force: true });
    expect(changes(ds)).toEqual([{ at: 30_000, from: 'direct', to: 'relay', reason: 'handshake-timeout' }]);
  });

  it('without a ready relay the deadline is pushed back instead of relaying into nothing', () => {
    const ds = replay(start(), [{ at: 30_000, o: { relayReady: false } }]);
    expect(ds[0]?.state).toMatchObject({ kind: 'trying', deadlineMs: T0 + 60_000 });
    expect(ds[0]?.use.path).toBe('direct');
  });

  it('a session older than the attempt (agent restart) is proven by a probe answer', () => {
    const ds = replay(start(), [
      { at: 250, o: { lastHandshakeMs: T0 - 10_000, txBytes: 500, rxBytes: 500 } },
      { at: 500, o: { lastHandshakeMs: T0 - 10_000, probe: { sentAtMs: T0 + 260, ok: true, rttMs: 1 } } },
    ]);
    expect(ds[0]?.probe).toBe(true);
    expect(ds[1]?.state.kind).toBe('direct');
  });

  it('a stale loopback endpoint left by a previous agent is replaced by the direct one', () => {
    const [d] = replay(start(), [{ at: 250, o: { endpoint: '127.0.0.1:39999' } }]);
    expect(d?.use).toEqual({ path: 'direct', force: true });
  });

  it('the peer relays to us (WireGuard roamed to the proxy) → relay, without fighting the roam', () => {
    const ds = replay(start(), [{ at: 2_000, o: { endpoint: PROXY } }]);
    expect(ds[0]?.state).toMatchObject({ kind: 'relay', reason: 'roamed-relay' });
    expect(ds[0]?.use).toEqual({ path: 'relay', force: false });
  });

  it('NAT types turning impossible while trying → relay at once (nat-types)', () => {
    const ds = replay(start(), [{ at: 1_000, o: { directPossible: false } }]);
    expect(changes(ds)).toEqual([{ at: 1_000, from: 'direct', to: 'relay', reason: 'nat-types' }]);
  });
});

describe('mode auto: a direct path dies', () => {
  it('blackhole while pinging every 10 ms: probe after the stall, relay when it fails, well under 3 s', () => {
    // Recorded shape: tx keeps growing 4 kB per 250 ms sample, rx stops at t=1000 (the router drops).
    const steps: Step[] = [];
    let rx = 0;
    let tx = 0;
    for (let at = 250; at <= 1_000; at += 250) {
      rx += 4_000;
      tx += 4_000;
      steps.push({ at, o: { rxBytes: rx, txBytes: tx } });
    }
    const probeSentAt = 1_750;
    for (let at = 1_250; at <= 3_000; at += 250) {
      tx += 4_000;
      const o: Partial<PathObservation> = { rxBytes: rx, txBytes: tx };
      if (at >= probeSentAt + 1_000) o.probe = { sentAtMs: T0 + probeSentAt, ok: false };
      steps.push({ at, o });
    }
    const ds = replay(directState(), steps);
    const firstProbe = ds.find((d) => d.probe);
    expect(firstProbe?.at).toBe(1_250 + 250); // the first sample STALL_MS after the first silent one
    const relayed = ds.find((d) => d.state.kind === 'relay');
    expect(relayed?.at).toBe(2_750);
    expect(relayed?.use).toEqual({ path: 'relay', force: true });
    // Traffic stopped at 1000 ms; the relay endpoint is set at 2750 ms: 1.75 s without traffic.
    expect((relayed?.at ?? 0) - 1_000).toBeLessThanOrEqual(3_000);
    expect(changes(ds)).toEqual([{ at: 2_750, from: 'direct', to: 'relay', reason: 'liveness-lost' }]);
  });

  it('an idle pair (keepalives only) sends no probes', () => {
    const steps: Step[] = [];
    for (let i = 1; i <= 20; i++)
      steps.push({ at: i * 25_000, o: { txBytes: i * 32, rxBytes: (i - 1) * 32 } });
    const ds = replay(directState(), steps);
    expect(ds.some((d) => d.probe)).toBe(false);
    expect(ds.every((d) => d.state.kind === 'direct')).toBe(true);
  });

  it('a probe answer clears the suspicion (the peer was only quiet)', () => {
    const ds = replay(directState(), [
      { at: 250, o: { txBytes: 1_000 } },
      { at: 600, o: { txBytes: 2_000 } },
      { at: 900, o: { txBytes: 3_000, rxBytes: 64, probe: { sentAtMs: T0 + 610, ok: true, rttMs: 0.8 } } },
      { at: 1_150, o: { txBytes: 4_000, rxBytes: 64 } },
    ]);
    expect(ds[1]?.probe).toBe(true);
    expect(ds[2]?.state).toEqual({ kind: 'direct', sinceMs: T0, last: { rx: 64, tx: 3_000 } });
    expect(ds.every((d) => d.state.kind === 'direct')).toBe(true);
  });

  it('without a relay a failed probe keeps the direct path and probes again only every 2 s', () => {
    const ds = replay(directState(), [
      { at: 250, o: { txBytes: 1_000, relayReady: false } },
      { at: 600, o: { txBytes: 2_000, relayReady: false } },
      { at: 1_700, o: { txBytes: 3_000, relayReady: false, probe: { sentAtMs: T0 + 600, ok: false } } },
      { at: 2_700, o: { txBytes: 4_000, relayReady: false, probe: { sentAtMs: T0 + 600, ok: false } } },
    ]);
    expect(ds.map((d) => [d.state.kind, d.probe])).toEqual([
      ['direct', false],
      ['direct', true],
      ['direct', false],
      ['direct', true],
    ]);
  });

  it('the peer moved to the relay first: WireGuard roamed to the proxy, follow it (roamed-relay)', () => {
    const ds = replay(directState(), [{ at: 500, o: { endpoint: PROXY } }]);
    expect(ds[0]?.use).toEqual({ path: 'relay', force: false });
    expect(changes(ds)).toEqual([{ at: 500, from: 'direct', to: 'relay', reason: 'roamed-relay' }]);
  });
});

describe('mode auto: upgrade back to direct (make before break)', () => {
  const slotAt = (ms: number) => ({ currentMs: T0 + ms, nextMs: T0 + ms + 120_000 });

  it('joins the shared slot, points direct, probes once WireGuard is seen direct, and is direct on the answer', () => {
    const quietProxy = { txPackets: 40, rxPackets: 38 };
    const ds = replay(relayState(), [
      { at: 119_000, o: { endpoint: PROXY, slots: { currentMs: T0, nextMs: T0 + 120_000 } } },
      {
        at: 120_100,
        o: { endpoint: PROXY, proxy: { txPackets: 39, rxPackets: 38 }, slots: slotAt(120_000) },
      },
      { at: 120_140, o: { endpoint: DIRECT, proxy: quietProxy, slots: slotAt(120_000) } },
      {
        at: 120_150,
        o: {
          endpoint: DIRECT,
          proxy: quietProxy,
          slots: slotAt(120_000),
          probe: { sentAtMs: T0 + 120_141, ok: true, rttMs: 0.7 },
        },
      },
    ]);
    expect(ds[0]?.wakeAtMs).toBe(T0 + 120_000);
    expect(ds[1]?.state).toMatchObject({ kind: 'trying', upgradeFrom: 'handshake-timeout' });
    expect(ds[1]?.use).toEqual({ path: 'direct', force: true });
    // A probe sent before WireGuard points direct proves nothing: wait for the apply, look again soon.
    expect(ds[1]?.probe).toBe(false);
    expect(ds[1]?.wakeAtMs).toBe(T0 + 120_100 + RESAMPLE_MS);
    expect(ds[2]?.state).toMatchObject({ quiet: { atMs: T0 + 120_140, proxy: quietProxy } });
    expect(ds[2]?.probe).toBe(true);
    expect(ds[3]?.state.kind).toBe('direct');
    expect(ds[3]?.use).toEqual({ path: 'direct', force: false });
    expect(changes(ds)).toEqual([{ at: 120_150, from: 'relay', to: 'direct', reason: 'upgraded' }]);
  });

  it('a failed attempt returns to the proxy within 1 s, with no path-change event', () => {
    const ds = replay(relayState('liveness-lost'), [
      { at: 120_100, o: { endpoint: PROXY, slots: slotAt(120_000) } },
      { at: 120_350, o: { endpoint: PROXY, slots: slotAt(120_000) } },
      {
        at: 120_600,
        o: { endpoint: DIRECT, slots: slotAt(120_000), probe: { sentAtMs: T0 + 120_110, ok: false } },
      },
      { at: 121_100, o: { endpoint: DIRECT, slots: slotAt(120_000) } },
      { at: 121_350, o: { endpoint: PROXY, slots: slotAt(120_000) } },
    ]);
    expect(ds[1]?.use).toEqual({ path: 'direct', force: true });
    const back = ds.findIndex((d) => d.state.kind === 'relay');
    expect(ds[back]?.at).toBe(121_100);
    expect((ds[back]?.at ?? 0) - 120_100).toBeLessThanOrEqual(UPGRADE_WINDOW_MS);
    expect(ds[back]?.state).toMatchObject({ kind: 'relay', reason: 'liveness-lost' });
    expect(ds[back]?.use).toEqual({ path: 'relay', force: true });
    // The slot just used is not joined again.
    expect(ds[back + 1]?.state.kind).toBe('relay');
    expect(changes(ds)).toEqual([]);
  });

  it('a probe answer that came back through the relay is not a success', () => {
    const ds = replay({ kind: 'trying', sinceMs: T0, deadlineMs: T0 + 1_000, upgradeFrom: 'liveness-lost' }, [
      { at: 500, o: { endpoint: PROXY, probe: { sentAtMs: T0 + 10, ok: true } } },
      { at: 1_000, o: { endpoint: PROXY, probe: { sentAtMs: T0 + 10, ok: true } } },
    ]);
    expect(ds[0]?.state.kind).toBe('trying');
    expect(ds[1]?.state.kind).toBe('relay');
  });

  it('pairs that cannot go direct by their NAT types are never retried', () => {
    const ds = replay({ kind: 'relay', sinceMs: T0, reason: 'nat-types' }, [
      { at: 120_100, o: { endpoint: PROXY, directPossible: false, slots: slotAt(120_000) } },
      { at: 240_100, o: { endpoint: PROXY, directPossible: false, slots: slotAt(240_000) } },
    ]);
    expect(ds.every((d) => d.state.kind === 'relay' && d.use.path === 'relay')).toBe(true);
    expect(ds.every((d) => d.wakeAtMs === undefined)).toBe(true);
  });

  it('a slot that starts right after entering the relay is skipped (the other side may not be there yet)', () => {
    const ds = replay(relayState(), [{ at: 200, o: { endpoint: PROXY, slots: slotAt(100) } }]);
    expect(ds[0]?.state.kind).toBe('relay');
  });

  it('the peer came in directly (WireGuard roamed): followed after the settle time, never fought', () => {
    const ds = replay(relayState(), [
      { at: 1_000, o: { endpoint: DIRECT } },
      { at: RELAY_SETTLE_MS + 100, o: { endpoint: DIRECT } },
    ]);
    expect(ds[0]?.use).toEqual({ path: 'relay', force: true });
    expect(ds[1]?.use).toEqual({ path: 'direct', force: false });
    expect(changes(ds)).toEqual([
      { at: RELAY_SETTLE_MS + 100, from: 'relay', to: 'direct', reason: 'roamed-direct' },
    ]);
  });

  it('the relay disappears while relayed: back to trying direct', () => {
    const ds = replay(relayState(), [
      { at: 5_000, o: { endpoint: PROXY, proxyEndpoint: undefined, relayReady: false } },
    ]);
    expect(ds[0]?.state.kind).toBe('trying');
    expect(ds[0]?.use).toEqual({ path: 'direct', force: true });
  });
});

describe('upgrade proof: the proxy must carry nothing between the direct sample and the answer', () => {
  const slot = { currentMs: T0 + 120_000, nextMs: T0 + 240_000 };
  const at = (
    endpoint: string,
    tx: number,
    rx: number,
    probe?: { sentAt: number; ok: boolean },
  ): Partial<PathObservation> => ({
    endpoint,
    slots: slot,
    proxy: { txPackets: tx, rxPackets: rx },
    ...(probe ? { probe: { sentAtMs: T0 + probe.sentAt, ok: probe.ok, rttMs: 1 } } : {}),
  });

  it('recorded flap (blackhole still on): a probe that went out and came back through the relay is no proof', () => {
    // cone2's view, pinged every 10 ms by cone1 while the drop is on. cone2 joins the slot late (120 390); cone1's
    // attempt ends at 121 000 and its pings come through the relay again: WireGuard roams to the proxy, the agent's
    // forced apply points it direct again, and a probe sent between a direct sample and the next roam travels
    // through the relay and is answered. The sample after the answer sees a direct endpoint: the old rule (endpoint
    // direct + probe answered) upgraded here, and the pair flapped relay → direct → relay (liveness-lost).
    const ds = replay(relayState('liveness-lost'), [
      { at: 120_390, o: at(PROXY, 5_000, 5_000) },
      { at: 120_430, o: at(DIRECT, 5_002, 5_003) },
      { at: 120_680, o: at(DIRECT, 5_002, 5_003) },
      { at: 120_930, o: at(DIRECT, 5_002, 5_003, { sentAt: 120_431, ok: false }) },
      { at: 121_180, o: at(PROXY, 5_020, 5_021, { sentAt: 120_431, ok: false }) },
      { at: 121_210, o: at(PROXY, 5_023, 5_024, { sentAt: 120_431, ok: false }) },
      { at: 121_240, o: at(DIRECT, 5_026, 5_027, { sentAt: 120_681, ok: false }) },
      // The probe sent at 121 242 left through the proxy (tx +1) and its answer came back through it (rx +1).
      { at: 121_267, o: at(DIRECT, 5_028, 5_029, { sentAt: 121_242, ok: true }) },
      { at: 121_300, o: at(PROXY, 5_031, 5_032, { sentAt: 121_242, ok: true }) },
      { at: 121_390, o: at(PROXY, 5_040, 5_041, { sentAt: 121_242, ok: true }) },
      { at: 121_420, o: at(PROXY, 5_043, 5_044) },
      { at: 124_000, o: at(PROXY, 5_300, 5_301) },
    ]);
    expect(ds.map((d) => d.state.kind)).toEqual([
      'trying',
      'trying',
      'trying',
      'trying',
      'trying',
      'trying',
      'trying',
      'trying',
      'trying',
      'relay',
      'relay',
      'relay',
    ]);
    // No probe before WireGuard is seen direct, and none while it points at the proxy.
    expect(ds.map((d) => d.probe)).toEqual([
      false,
      true,
      true,
      true,
      false,
      false,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
    // The answered probe restarts the proof from that sample instead of counting.
    expect(ds[7]?.state).toMatchObject({ quiet: { atMs: T0 + 121_267 } });
    // Back on the proxy, forced, within the 1 s the attempt may cost; no path change was ever reported.
    const back = ds[9];
    expect(back?.use).toEqual({ path: 'relay', force: true });
    expect((back?.at ?? 0) - 120_390).toBeLessThanOrEqual(UPGRADE_WINDOW_MS);
    expect(back?.state).toMatchObject({ kind: 'relay', reason: 'liveness-lost' });
    expect(ds[10]?.use).toEqual({ path: 'relay', force: true });
    expect(changes(ds)).toEqual([]);
  });

  it('recorded legit upgrade (drop lifted, traffic flowing): proof after the roam fight, well inside 1 s', () => {
    // cone1's view: it joins first; cone2's relayed replies roam WireGuard back to the proxy once before cone2
    // points direct too; from then on the proxy is silent and the first answered probe upgrades.
    const ds = replay(relayState('liveness-lost'), [
      { at: 120_010, o: at(PROXY, 8_000, 8_000) },
      { at: 120_045, o: at(PROXY, 8_001, 8_002) },
      { at: 120_080, o: at(DIRECT, 8_003, 8_004) },
      { at: 120_110, o: at(PROXY, 8_005, 8_007) },
      { at: 120_140, o: at(DIRECT, 8_006, 8_008) },
      { at: 120_143, o: { ...at(DIRECT, 8_006, 8_008, { sentAt: 120_141, ok: true }), rxBytes: 900 } },
      { at: 120_393, o: { ...at(DIRECT, 8_006, 8_008), rxBytes: 5_000, txBytes: 5_000 } },
      { at: 120_643, o: { ...at(DIRECT, 8_006, 8_008), rxBytes: 9_000, txBytes: 9_000 } },
    ]);
    expect(ds.map((d) => [d.state.kind, d.use.path, d.use.force, d.probe])).toEqual([
      ['trying', 'direct', true, false],
      ['trying', 'direct', true, false],
      ['trying', 'direct', true, true],
      ['trying', 'direct', true, false],
      ['trying', 'direct', true, true],
      ['direct', 'direct', false, false],
      ['direct', 'direct', false, false],
      ['direct', 'direct', false, false],
    ]);
    expect(changes(ds)).toEqual([{ at: 120_143, from: 'relay', to: 'direct', reason: 'upgraded' }]);
    expect(120_143 - 120_010).toBeLessThan(UPGRADE_WINDOW_MS);
  });

  const attempt = (): PathState => ({
    kind: 'trying',
    sinceMs: T0,
    deadlineMs: T0 + 1_000,
    upgradeFrom: 'liveness-lost',
    quiet: { atMs: T0 + 100, proxy: { txPackets: 10, rxPackets: 10 } },
  });
  it.each([
    [
      'proxy tx moved (the probe left through the relay)',
      at(DIRECT, 11, 10, { sentAt: 150, ok: true }),
      'trying',
    ],
    [
      'proxy rx moved (the answer came through the relay)',
      at(DIRECT, 10, 11, { sentAt: 150, ok: true }),
      'trying',
    ],
    ['probe sent before the quiet sample', at(DIRECT, 10, 10, { sentAt: 90, ok: true }), 'trying'],
    ['probe lost', at(DIRECT, 10, 10, { sentAt: 150, ok: false }), 'trying'],
    ['WireGuard roamed to the proxy', at(PROXY, 10, 10, { sentAt: 150, ok: true }), 'trying'],
    [
      'proxy silent, answered after the quiet sample',
      at(DIRECT, 10, 10, { sentAt: 150, ok: true }),
      'direct',
    ],
  ] as const)('%s → %s', (_why, o, kind) => {
    const [d] = replay(attempt(), [{ at: 300, o }]);
    expect(d?.state.kind).toBe(kind);
  });
});

describe('mode switches from every state (no agent restart)', () => {
  const states: Record<string, PathState> = {
    trying: { kind: 'trying', sinceMs: T0, deadlineMs: T0 + 30_000 },
    upgrading: { kind: 'trying', sinceMs: T0, deadlineMs: T0 + 1_000, upgradeFrom: 'liveness-lost' },
    direct: directState(),
    relay: relayState(),
  };
  it.each([
    // [from state, mode, endpoint seen, next state kind, use, change (from→to reason) or none]
    ['trying', 'never', DIRECT, 'direct', { path: 'direct', force: false }, undefined],
    ['upgrading', 'never', DIRECT, 'direct', { path: 'direct', force: false }, 'relay→direct mode-never'],
    ['direct', 'never', DIRECT, 'direct', { path: 'direct', force: false }, undefined],
    ['relay', 'never', PROXY, 'direct', { path: 'direct', force: true }, 'relay→direct mode-never'],
    ['trying', 'always', DIRECT, 'relay', { path: 'relay', force: true }, 'direct→relay mode-always'],
    ['upgrading', 'always', DIRECT, 'relay', { path: 'relay', force: true }, undefined],
    ['direct', 'always', DIRECT, 'relay', { path: 'relay', force: true }, 'direct→relay mode-always'],
    ['relay', 'always', PROXY, 'relay', { path: 'relay', force: true }, undefined],
  ] as const)('%s, mode → %s (WireGuard at %s) → %s', (from, mode, endpoint, kind, use, change) => {
    const [d] = replay(states[from]!, [{ at: 500, o: { timers: { ...AUTO, mode }, endpoint } }]);
    expect(d?.state.kind).toBe(kind);
    expect(d?.use).toEqual(use);
    expect(d?.probe).toBe(false);
    const c = d?.change;
    expect(c ? `${c.from}→${c.to} ${c.reason}` : undefined).toBe(change);
  });

  it('the relay removed (provider gone) during an upgrade attempt: back at once, then direct is tried', () => {
    const ds = replay(states.upgrading!, [
      { at: 300, o: { endpoint: DIRECT, proxyEndpoint: undefined, relayReady: false } },
      { at: 550, o: { endpoint: DIRECT, proxyEndpoint: undefined, relayReady: false } },
    ]);
    expect(ds[0]?.state).toMatchObject({ kind: 'relay', reason: 'liveness-lost' });
    expect(ds[1]?.state).toMatchObject({ kind: 'trying' });
    expect(ds[1]?.state).not.toHaveProperty('upgradeFrom');
    expect(ds[1]?.use).toEqual({ path: 'direct', force: true });
    expect(changes(ds)).toEqual([{ at: 550, from: 'relay', to: 'direct', reason: 'mode-auto' }]);
  });
});

describe('settledPath', () => {
  it('counts an upgrade attempt as relayed', () => {
    expect(settledPath({ kind: 'trying', sinceMs: 0, deadlineMs: 1, upgradeFrom: 'nat-types' })).toBe(
      'relay',
    );
    expect(settledPath({ kind: 'trying', sinceMs: 0, deadlineMs: 1 })).toBe('direct');
  });
});

describe('attemptSlots', () => {
  const a = `${'A'.repeat(43)}=`;
  const b = `${'B'.repeat(43)}=`;

  it('gives both sides the same slots, whichever key is local', () => {
    for (const now of [T0, T0 + 1, T0 + 59_999, T0 + 1_234_567]) {
      expect(attemptSlots(a, b, 120_000, now)).toEqual(attemptSlots(b, a, 120_000, now));
    }
  });

  it('current ≤ now < next, one interval apart', () => {
    for (let now = T0; now < T0 + 300_000; now += 7_919) {
      const s = attemptSlots(a, b, 120_000, now);
      expect(s.currentMs).toBeLessThanOrEqual(now);
      expect(s.nextMs).toBeGreaterThan(now);
      expect(s.nextMs - s.currentMs).toBe(120_000);
    }
  });

  it('spreads pairs over the interval', () => {
    const offsets = new Set(
      ['C', 'D', 'E', 'F', 'G'].map((k) => attemptSlots(a, `${k.repeat(43)}=`, 120_000, T0).currentMs),
    );
    expect(offsets.size).toBe(5);
  });
});

describe('directPossible', () => {
  it.each([
    ['public', 'symmetric', false, true],
    ['symmetric', 'public', false, true],
    ['cone', 'cone', false, true],
    ['cone', 'symmetric', false, false],
    ['symmetric', 'cone', false, false],
    ['symmetric', 'symmetric', false, false],
    ['symmetric', 'symmetric', true, true],
    ['unknown', 'symmetric', false, true],
    ['cone', 'unknown', false, true],
  ] as const)('%s ↔ %s (same LAN %s) → %s', (local, remote, sameLan, expected) => {
    expect(directPossible(local, remote, sameLan)).toBe(expected);
  });

  it('a node whose endpoint is its own address is public, whatever STUN said', () => {
    expect(reachability('cone', '203.0.113.10', ['203.0.113.10'])).toBe('public');
    expect(reachability('symmetric', '203.0.113.101', ['10.101.0.10'])).toBe('symmetric');
    expect(reachability('', undefined, [])).toBe('unknown');
  });
});
