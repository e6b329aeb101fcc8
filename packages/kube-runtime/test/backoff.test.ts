import { describe, expect, it } from 'vitest';
import { Backoff, sleep } from '../src/index.js';

describe('Backoff', () => {
  it('doubles from 1 s to a 30 s cap, with jitter, and resets', () => {
    const b = new Backoff(1_000, 30_000, () => 0.5);
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000,
    ]);
    b.reset();
    expect(b.next()).toBe(1_000);
    expect(new Backoff(1_000, 30_000, () => 0).next()).toBe(800);
  });
});

describe('sleep', () => {
  it('resolves at once when the signal aborts', async () => {
    const controller = new AbortController();
    const slept = sleep(60_000, controller.signal);
    controller.abort();
    await slept;
    await sleep(60_000, controller.signal); // already aborted
  });
});
