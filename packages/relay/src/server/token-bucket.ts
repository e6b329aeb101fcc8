/**
 * A token bucket as a plain value, pure: the relay's budgets (log lines, a source's protocol violations) are all
 * "so many per second, so many at once", and a value with a timestamp needs no timer to refill.
 */
export interface BucketConfig {
  /** Tokens added per second, up to `burst`. */
  readonly perSecond: number;
  /** Tokens the bucket holds when full. */
  readonly burst: number;
}

export interface Bucket {
  readonly tokens: number;
  readonly refilledAt: number;
}

export const fullBucket = (config: BucketConfig, now: number): Bucket => ({
  tokens: config.burst,
  refilledAt: now,
});

/** The bucket as it stands at `now` (a clock that steps back refills nothing). */
export function refill(bucket: Bucket, now: number, config: BucketConfig): Bucket {
  const elapsed = Math.max(0, now - bucket.refilledAt);
  return {
    tokens: Math.min(config.burst, bucket.tokens + (elapsed * config.perSecond) / 1000),
    refilledAt: Math.max(now, bucket.refilledAt),
  };
}

/** Takes one token if there is one. */
export function take(bucket: Bucket, now: number, config: BucketConfig): { bucket: Bucket; taken: boolean } {
  const current = refill(bucket, now, config);
  if (current.tokens >= 1) return { bucket: { ...current, tokens: current.tokens - 1 }, taken: true };
  return { bucket: current, taken: false };
}
