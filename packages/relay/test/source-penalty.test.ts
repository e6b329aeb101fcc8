// The source penalty's decisions (src/server/source-penalty.ts) and the token bucket under them, from tables.
import { describe, expect, it } from 'vitest';
import {
  admits,
  forgiven,
  type PenaltyConfig,
  type SourceRecord,
  sourceOf,
  strike,
} from '../src/server/source-penalty.js';
import { type Bucket, fullBucket, refill, take } from '../src/server/token-bucket.js';

describe('token bucket', () => {
  const config = { perSecond: 2, burst: 3 };

  it.each([
    // tokens, refilledAt, now → tokens
    [0, 0, 500, 1],
    [0, 0, 10_000, 3],
    [1, 1_000, 500, 1], // the clock stepped back: nothing refills, the stamp stays
  ])('refills %d tokens stamped %d to %d at %d', (tokens, refilledAt, now, expected) => {
    expect(refill({ tokens, refilledAt }, now, config).tokens).toBe(expected);
  });

  it('takes while there is a whole token', () => {
    let bucket: Bucket = fullBucket(config, 0);
    const taken: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const step = take(bucket, 0, config);
      bucket = step.bucket;
      taken.push(step.taken);
    }
    expect(taken).toEqual([true, true, true, false]);
    expect(take(bucket, 499, config).taken).toBe(false);
    expect(take(bucket, 500, config).taken).toBe(true);
  });
});

describe('sourceOf', () => {
  it.each([
    ['10.0.0.7', '10.0.0.7'],
    ['::ffff:10.0.0.7', '10.0.0.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ])('%s → %s', (address, source) => {
    expect(sourceOf(address)).toBe(source);
  });

  it('has no source for a socket without an address', () => {
    expect(sourceOf(undefined)).toBeNull();
    expect(sourceOf('')).toBeNull();
  });
});

describe('source penalty', () => {
  const config: PenaltyConfig = { burst: 3, perSecond: 1 };

  /** Strikes at the given times; what admits() says right after each, and which strike penalized. */
  function timeline(at: number[]): {
    admitted: boolean[];
    penalizedAt: number[];
    record: SourceRecord | undefined;
  } {
    let record: SourceRecord | undefined;
    const admitted: boolean[] = [];
    const penalizedAt: number[] = [];
    for (const now of at) {
      const step = strike(record, now, config);
      record = step.record;
      if (step.penalizedNow) penalizedAt.push(now);
      admitted.push(admits(record, now, config));
    }
    return { admitted, penalizedAt, record };
  }

  it('admits a source never struck, and everyone when the penalty is off', () => {
    expect(admits(undefined, 0, config)).toBe(true);
    const empty = { tokens: 0, refilledAt: 0, penalized: true };
    expect(admits(empty, 0, config)).toBe(false);
    expect(admits(empty, 0, { burst: 0, perSecond: 1 })).toBe(true);
  });

  it('penalizes after the burst, once, and admits again as strikes are regained', () => {
    const { admitted, penalizedAt, record } = timeline([0, 0, 0, 0, 0]);
    expect(admitted).toEqual([true, true, false, false, false]);
    // The strike that emptied the bucket is the one to log; later ones (sessions accepted before) are not.
    expect(penalizedAt).toEqual([0]);
    expect(admits(record, 999, config)).toBe(false);
    expect(admits(record, 1_000, config)).toBe(true);
  });

  it('logs one episode for a source that keeps spending each strike it regains', () => {
    // Emptied at 0, then one connection a second (the rate it regains), each a strike again.
    const { admitted, penalizedAt } = timeline([0, 0, 0, 1_000, 2_000, 3_000, 4_000]);
    expect(admitted).toEqual([true, true, false, false, false, false, false]);
    expect(penalizedAt).toEqual([0]);
  });

  it('never penalizes a source that strikes slower than it regains', () => {
    const { admitted, penalizedAt } = timeline([0, 1_000, 2_000, 3_000, 4_000, 5_000]);
    expect(admitted.every(Boolean)).toBe(true);
    expect(penalizedAt).toEqual([]);
  });

  it('forgives a source once its bucket is full again', () => {
    const { record } = timeline([0, 0, 0]);
    expect(forgiven(record!, 2_999, config)).toBe(false);
    expect(forgiven(record!, 3_000, config)).toBe(true);
  });
});
