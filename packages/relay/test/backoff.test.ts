import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from '../src/client/backoff.js';

describe('backoffDelay', () => {
  it('doubles from 1 s and stops at 30 s', () => {
    const none = () => 0;
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((n) => backoffDelay(n, DEFAULT_BACKOFF, none))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });

  it('adds jitter but stays within 1 s .. 30 s', () => {
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 1)).toBe(1200);
    expect(backoffDelay(20, DEFAULT_BACKOFF, () => 1)).toBe(30000);
  });
});
