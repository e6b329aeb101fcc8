import type {
  Path,
  PathChangeReason,
  PathDecision,
  PathObservation,
  PathState,
  ProxyActivity,
} from './types.js';

/** WireGuard's stats are sampled this often while a direct path carries traffic (local reads, no packets). */
export const SAMPLE_MS = 250;
/**
 * Sending without hearing back for this long is worth a probe: the direct path may be dead. One sample period:
 * the stall is stamped at the first silent sample (already up to a period into it), so the probe goes out at
 * the next one. Budget to the relay after a drop: ≤ 2 samples (0.5 s) + probe timeout (1 s) + one apply,
 * measured 2.1–2.3 s end to end in the lab with 300 ms here; a false stall costs one 13-byte probe, nothing more.
 */
export const STALL_MS = SAMPLE_MS;
/** An upgrade attempt points WireGuard direct for at most this long: a failed attempt costs ≤ 1 s. */
export const UPGRADE_WINDOW_MS = 1_000;
/**
 * While an upgrade attempt waits for WireGuard to point direct (the agent is applying it), it looks this soon: the
 * proof starts at the first sample that sees the direct endpoint, and the whole attempt has UPGRADE_WINDOW_MS.
 */
export const RESAMPLE_MS = 30;
/** A slot is joined only this early in it, so both sides' windows overlap even when their ticks do not. */
export const SLOT_JOIN_MS = 400;
/** After moving a peer to the relay, its endpoint is held there this long before a different one counts as a roam. */
export const RELAY_SETTLE_MS = 3_000;
/** A WireGuard keepalive is 32 bytes on the wire: tx growing by no more than that is not traffic. */
export const KEEPALIVE_BYTES = 32;
/** With no relay to fall back to, a dead direct path is probed again this often. */
export const REPROBE_MS = 2_000;

/**
 * The first state of a peer that just appeared (or of every peer when the agent starts). A peer that WireGuard
 * already sends to its proxy while the relay is ready was relayed by the previous agent (the relay-link kept the
 * connection and the port): it is adopted as relayed, with no path change and no flip to direct, and is retried
 * for direct on the normal slot schedule like any relayed peer.
 */
export function initialState(observation: PathObservation, nowMs: number): PathState {
  const { mode, handshakeTimeoutMs } = observation.timers;
  if (mode === 'always') return { kind: 'relay', sinceMs: nowMs, reason: 'mode-always' };
  if (mode === 'auto' && atProxy(observation) && relayUsable(observation))
    return { kind: 'relay', sinceMs: nowMs, reason: observation.directPossible ? 'adopted' : 'nat-types' };
  if (mode === 'auto' && !observation.directPossible && relayUsable(observation))
    return { kind: 'relay', sinceMs: nowMs, reason: 'nat-types' };
  if (mode === 'never') return direct(observation, nowMs);
  return { kind: 'trying', sinceMs: nowMs, deadlineMs: nowMs + handshakeTimeoutMs };
}

/** The path WireGuard is meant to settle on in a state: an upgrade attempt still counts as relayed. */
export function settledPath(state: PathState): Path {
  if (state.kind === 'relay') return 'relay';
  if (state.kind === 'trying' && state.upgradeFrom) return 'relay';
  return 'direct';
}

/**
 * One step of a peer's path machine: pure, so a recorded timeline of observations replays exactly.
 * WireGuard holds one endpoint per peer; the only lever is which one we set (the peer's direct address or the
 * local relay proxy), and WireGuard itself roams to where the last authenticated packet came from — a roam is
 * followed, never fought (DESIGN.md lesson 5), except during the machine's own short, deliberate moves.
 */
export function next(state: PathState, observation: PathObservation, nowMs: number): PathDecision {
  const decided = step(state, observation, nowMs);
  const from = settledPath(state);
  const to = settledPath(decided.state);
  if (from !== to && !decided.change) {
    decided.change = { from, to, reason: reasonOf(decided.state) };
  }
  return decided;
}

function step(state: PathState, o: PathObservation, now: number): PathDecision {
  const { mode } = o.timers;
  if (mode === 'never') {
    const s: PathState = state.kind === 'direct' ? state : { ...direct(o, now), byMode: true };
    const change = state.kind === 'direct' ? undefined : changeTo(state, 'direct', 'mode-never');
    // Off the proxy even while it still exists: the relay connection is being closed in this very pass.
    const offProxy = onLoopback(o) || atProxy(o);
    return decision(s, { path: 'direct', force: offProxy }, false, undefined, change);
  }
  if (mode === 'always') {
    const s =
      state.kind === 'relay' && state.reason === 'mode-always'
        ? state
        : ({ kind: 'relay', sinceMs: now, reason: 'mode-always' } as const);
    const change = settledPath(state) === 'relay' ? undefined : changeTo(state, 'relay', 'mode-always');
    // The operator asked for the relay: holding the endpoint there is the point, not a fight with a roam.
    return decision(s, { path: 'relay', force: true }, false, undefined, change);
  }
  switch (state.kind) {
    case 'trying':
      return state.upgradeFrom ? upgrading(state, o, now) : trying(state, o, now);
    case 'direct':
      return directStep(state, o, now);
    case 'relay':
      return relayStep(state, o, now);
  }
}

function trying(
  state: Extract<PathState, { kind: 'trying' }>,
  o: PathObservation,
  now: number,
): PathDecision {
  if (!o.directPossible && relayUsable(o)) return toRelay(now, 'nat-types');
  if (atProxy(o)) return toRelay(now, 'roamed-relay', false);
  const handshakeSince = (o.lastHandshakeMs ?? 0) >= state.sinceMs;
  const probedSince = o.probe?.ok === true && o.probe.sentAtMs >= state.sinceMs;
  if (handshakeSince || probedSince) return decision(direct(o, now), { path: 'direct', force: false }, false);
  if (now >= state.deadlineMs) {
    if (relayUsable(o)) return toRelay(now, 'handshake-timeout');
    // Nothing to fall back to: keep trying, and look again after another timeout.
    const again = { ...state, deadlineMs: now + o.timers.handshakeTimeoutMs };
    return decision(again, { path: 'direct', force: onLoopback(o) }, false, again.deadlineMs);
  }
  // A session that predates this attempt (an agent restart, a mode change) proves nothing: ask the peer.
  const wantsProbe = (o.lastHandshakeMs ?? 0) > 0;
  return decision(
    state,
    { path: 'direct', force: onLoopback(o) },
    wantsProbe,
    wantsProbe ? now + SAMPLE_MS : state.deadlineMs,
  );
}

/**
 * A make-before-break attempt from the relay. Success needs proof that the direct path carried a round trip:
 * a probe sent after a sample at which WireGuard pointed direct, answered while the proxy's counters for the
 * peer stayed where they were at that sample. The endpoint alone is not proof: when the other side is back on
 * the relay, its packets roam WireGuard to the proxy, the probe and its answer travel through the relay, and the
 * agent's forced apply points WireGuard direct again before the next sample — direct endpoint, answered probe,
 * dead direct path (the blackhole flap). The proxy counting nothing in between rules that out: neither the
 * probe nor its answer went through it, so both went direct.
 */
function upgrading(
  state: Extract<PathState, { kind: 'trying' }>,
  o: PathObservation,
  now: number,
): PathDecision {
  const pointsDirect = o.endpoint !== undefined && !atProxy(o) && !onLoopback(o);
  const proxy = o.proxy ?? { txPackets: 0, rxPackets: 0 };
  const stillQuiet = pointsDirect && state.quiet !== undefined && sameActivity(state.quiet.proxy, proxy);
  const quiet = stillQuiet ? state.quiet : pointsDirect ? { atMs: now, proxy } : undefined;
  const answered = o.probe?.ok === true && quiet !== undefined && o.probe.sentAtMs >= quiet.atMs;
  if (stillQuiet && answered) {
    return decision(direct(o, now), { path: 'direct', force: false }, false);
  }
  if (now >= state.deadlineMs || !relayUsable(o)) {
    // Failed: back to the proxy at once. Not a path change (the peer never counted as direct).
    const back: PathState = { kind: 'relay', sinceMs: now, reason: state.upgradeFrom ?? 'handshake-timeout' };
    return decision(back, { path: 'relay', force: true }, false, now + RELAY_SETTLE_MS);
  }
  // Our own short attempt: the endpoint is held direct even if a relayed packet roams it back meanwhile. A probe
  // is only worth sending once a quiet sample exists: one sent before it could not prove anything.
  const held: PathState = {
    kind: 'trying',
    sinceMs: state.sinceMs,
    deadlineMs: state.deadlineMs,
    ...(state.upgradeFrom ? { upgradeFrom: state.upgradeFrom } : {}),
    ...(quiet ? { quiet } : {}),
  };
  return decision(
    held,
    { path: 'direct', force: true },
    quiet !== undefined,
    Math.min(state.deadlineMs, now + (quiet ? SAMPLE_MS : RESAMPLE_MS)),
  );
}

function directStep(
  state: Extract<PathState, { kind: 'direct' }>,
  o: PathObservation,
  now: number,
): PathDecision {
  if (atProxy(o)) return toRelay(now, 'roamed-relay', false);
  if (state.byMode) {
    // Leaving mode never: a session that lived on the relay proves nothing about the direct path.
    return trying({ kind: 'trying', sinceMs: now, deadlineMs: now + o.timers.handshakeTimeoutMs }, o, now);
  }
  const rxGrew = o.rxBytes > state.last.rx || o.rxBytes < state.last.rx;
  const txGrew = o.txBytes - state.last.tx > KEEPALIVE_BYTES || o.txBytes < state.last.tx;
  let stalledSinceMs = state.stalledSinceMs;
  if (rxGrew) stalledSinceMs = undefined;
  else if (txGrew) stalledSinceMs ??= now;
  const next: PathState = {
    kind: 'direct',
    sinceMs: state.sinceMs,
    last: { rx: o.rxBytes, tx: o.txBytes },
    ...(stalledSinceMs !== undefined ? { stalledSinceMs } : {}),
  };
  let wantsProbe = false;
  if (stalledSinceMs !== undefined && now - stalledSinceMs >= STALL_MS) {
    const probe = o.probe && o.probe.sentAtMs >= stalledSinceMs ? o.probe : undefined;
    if (probe && !probe.ok && relayUsable(o)) return toRelay(now, 'liveness-lost');
    wantsProbe = !probe || (!probe.ok && now - probe.sentAtMs >= REPROBE_MS);
  }
  return decision(next, { path: 'direct', force: onLoopback(o) }, wantsProbe, now + SAMPLE_MS);
}

function relayStep(
  state: Extract<PathState, { kind: 'relay' }>,
  o: PathObservation,
  now: number,
): PathDecision {
  if (!o.proxyEndpoint) {
    // The relay went away (provider removed): direct is the only path left.
    const again: PathState = { kind: 'trying', sinceMs: now, deadlineMs: now + o.timers.handshakeTimeoutMs };
    return decision(again, { path: 'direct', force: true }, false, again.deadlineMs);
  }
  const settling = now - state.sinceMs < RELAY_SETTLE_MS;
  if (!settling && o.endpoint && !atProxy(o) && !onLoopback(o)) {
    // The peer came in directly and WireGuard roamed to it: the direct path works from its side, follow it.
    return decision(direct(o, now), { path: 'direct', force: false }, false, now + SAMPLE_MS, {
      from: 'relay',
      to: 'direct',
      reason: 'roamed-direct',
    });
  }
  const slot = o.slots.currentMs;
  const joinSlot =
    o.directPossible && relayUsable(o) && now - slot < SLOT_JOIN_MS && slot >= state.sinceMs + SLOT_JOIN_MS;
  if (joinSlot) {
    const attempt: PathState = {
      kind: 'trying',
      sinceMs: now,
      deadlineMs: now + UPGRADE_WINDOW_MS,
      upgradeFrom: state.reason,
    };
    return decision(attempt, { path: 'direct', force: true }, false, now + RESAMPLE_MS);
  }
  const wakes = [
    settling ? state.sinceMs + RELAY_SETTLE_MS : undefined,
    o.directPossible ? o.slots.nextMs : undefined,
  ];
  const wakeAtMs = min(wakes);
  // A loopback endpoint that is not the proxy's is a port of a relay-link that was restarted: nothing listens
  // there any more, so it is replaced at once rather than waiting for the peer's packets to roam it.
  return decision(state, { path: 'relay', force: settling || onLoopback(o) }, false, wakeAtMs);
}

function toRelay(now: number, reason: PathChangeReason, force = true): PathDecision {
  const state: PathState = { kind: 'relay', sinceMs: now, reason };
  return decision(state, { path: 'relay', force }, false, now + RELAY_SETTLE_MS);
}

function direct(o: PathObservation, now: number): Extract<PathState, { kind: 'direct' }> {
  return { kind: 'direct', sinceMs: now, last: { rx: o.rxBytes, tx: o.txBytes } };
}

function changeTo(
  state: PathState,
  to: Path,
  reason: PathChangeReason,
): { from: Path; to: Path; reason: PathChangeReason } | undefined {
  const from = settledPath(state);
  return from === to ? undefined : { from, to, reason };
}

function reasonOf(state: PathState): PathChangeReason {
  if (state.kind === 'relay') return state.reason;
  return state.kind === 'direct' ? 'upgraded' : 'mode-auto';
}

function decision(
  state: PathState,
  use: PathDecision['use'],
  probe: boolean,
  wakeAtMs?: number,
  change?: PathDecision['change'],
): PathDecision {
  return {
    state,
    use,
    probe,
    ...(wakeAtMs !== undefined ? { wakeAtMs } : {}),
    ...(change ? { change } : {}),
  };
}

function sameActivity(a: ProxyActivity, b: ProxyActivity): boolean {
  return a.txPackets === b.txPackets && a.rxPackets === b.rxPackets;
}

function relayUsable(o: PathObservation): boolean {
  return o.relayReady && o.proxyEndpoint !== undefined;
}

function atProxy(o: PathObservation): boolean {
  return o.endpoint !== undefined && o.endpoint === o.proxyEndpoint;
}

/** A loopback endpoint that is not our proxy is a stale one (a previous agent's proxy): always replaced. */
function onLoopback(o: PathObservation): boolean {
  return o.endpoint?.startsWith('127.') === true && o.endpoint !== o.proxyEndpoint;
}

function min(values: ReadonlyArray<number | undefined>): number | undefined {
  const present = values.filter((v): v is number => v !== undefined);
  return present.length > 0 ? Math.min(...present) : undefined;
}
