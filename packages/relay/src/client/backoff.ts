/** Reconnect delays: exponential from 1 s, capped at 30 s (seed), plus up to `jitter` extra so that clients of a
 * restarted relay do not all come back in the same millisecond. Never below `initialMs`, never above `maxMs`. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** Fraction of the delay added at random, 0..1. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 30_000, jitter: 0.2 };

export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random = Math.random,
): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt));
  return Math.min(policy.maxMs, base * (1 + policy.jitter * random()));
}
