import type { Endpoint } from './types.js';

/** Why a discovery round runs now. */
export type RecheckReason =
  | 'start'
  | 'interval'
  /** The endpoint's own deadline (a UPnP lease) comes before the interval. */
  | 'refresh'
  | 'retry'
  /** The mesh moved WireGuard to another port: the published port belongs to the old one. */
  | 'listen-port'
  /** The own WireKubePeer was deleted while this agent runs: recreate it with a fresh endpoint. */
  | 'own-peer-deleted';

export interface RecheckState {
  /** When the last round finished; undefined before the first. */
  lastRunMs?: number;
  lastOutcome?: 'found' | 'failed';
  /** The listen port of the last round. */
  listenPort?: number;
  /** A listen-port change whose round failed: the next round must not trust the published endpoint either. */
  previousStale: boolean;
  /** The endpoint the last successful round found, i.e. what this agent published. */
  endpoint?: Endpoint;
  /** Whether the own WireKubePeer existed when last observed. */
  ownPeerSeen: boolean;
}

export type RecheckInput =
  /** Every reconcile pass: what the agent sees now. */
  | { type: 'observe'; nowMs: number; listenPort: number; ownPeerExists: boolean }
  /** A round that found an endpoint (none given: the one already known stays). */
  | { type: 'found'; nowMs: number; listenPort: number; endpoint?: Endpoint }
  /** No source found an endpoint, or the round threw. */
  | { type: 'failed'; nowMs: number; listenPort: number };

/**
 * Run one discovery round (NAT probe, then the sources in precedence). `trustPrevious` false: do not offer the
 * published endpoint to the sources (it was discovered for another listen port).
 */
export interface DiscoverEffect {
  type: 'discover';
  reason: RecheckReason;
  trustPrevious: boolean;
}

export interface RecheckTimers {
  intervalMs: number;
  /** After a failed round; capped by the interval. */
  retryMs: number;
}

export interface RecheckStep {
  state: RecheckState;
  effects: DiscoverEffect[];
  /** When the next round is due (ms since the epoch): the caller wakes up no later than this. */
  wakeAt?: number;
}

export const initialRecheckState: RecheckState = { previousStale: false, ownPeerSeen: false };

/**
 * When the endpoint is discovered again — pure. Every interval; sooner when the endpoint says it lapses
 * (a UPnP mapping is renewed at half its lease, whatever the interval, so it never expires); at once when the
 * listen port changed or the own WireKubePeer vanished; after a failure, at the retry delay.
 */
export function nextRecheck(state: RecheckState, input: RecheckInput, timers: RecheckTimers): RecheckStep {
  switch (input.type) {
    case 'observe': {
      const next: RecheckState = { ...state, ownPeerSeen: input.ownPeerExists };
      const due = dueAt(state, timers);
      const reason =
        immediateReason(state, input) ?? (due && input.nowMs >= due.atMs ? due.reason : undefined);
      if (!reason) return { state: next, effects: [], ...(due ? { wakeAt: due.atMs } : {}) };
      const trustPrevious = reason !== 'listen-port' && !state.previousStale;
      return { state: next, effects: [{ type: 'discover', reason, trustPrevious }] };
    }
    case 'found': {
      const next: RecheckState = {
        ...state,
        lastRunMs: input.nowMs,
        lastOutcome: 'found',
        listenPort: input.listenPort,
        previousStale: false,
        ...(input.endpoint ? { endpoint: input.endpoint } : {}),
      };
      return { state: next, effects: [], wakeAt: dueAt(next, timers)!.atMs };
    }
    case 'failed': {
      const portMoved = state.listenPort !== undefined && state.listenPort !== input.listenPort;
      const next: RecheckState = {
        ...state,
        lastRunMs: input.nowMs,
        lastOutcome: 'failed',
        listenPort: input.listenPort,
        previousStale: state.previousStale || portMoved,
      };
      return { state: next, effects: [], wakeAt: dueAt(next, timers)!.atMs };
    }
  }
}

function immediateReason(
  state: RecheckState,
  input: Extract<RecheckInput, { type: 'observe' }>,
): RecheckReason | undefined {
  if (state.lastRunMs === undefined) return 'start';
  if (state.listenPort !== undefined && state.listenPort !== input.listenPort) return 'listen-port';
  if (state.ownPeerSeen && !input.ownPeerExists) return 'own-peer-deleted';
  return undefined;
}

function dueAt(
  state: RecheckState,
  timers: RecheckTimers,
): { atMs: number; reason: RecheckReason } | undefined {
  if (state.lastRunMs === undefined) return undefined;
  if (state.lastOutcome === 'failed') {
    return { atMs: state.lastRunMs + Math.min(timers.retryMs, timers.intervalMs), reason: 'retry' };
  }
  const refresh = state.endpoint?.refreshWithinMs;
  if (refresh !== undefined && refresh < timers.intervalMs) {
    return { atMs: state.lastRunMs + refresh, reason: 'refresh' };
  }
  return { atMs: state.lastRunMs + timers.intervalMs, reason: 'interval' };
}

/**
 * The endpoint offered to the sources as "published": the own WireKubePeer's, or — when that object was just
 * deleted — the one this agent last published, so a recreated peer never falls back to a worse method.
 */
export function previousEndpoint(
  own: { endpoint?: string; method?: Endpoint['method'] } | undefined,
  lastPublished: Endpoint | undefined,
): Partial<Endpoint> | undefined {
  if (own?.endpoint) return { endpoint: own.endpoint, ...(own.method ? { method: own.method } : {}) };
  return lastPublished ? { endpoint: lastPublished.endpoint, method: lastPublished.method } : undefined;
}
