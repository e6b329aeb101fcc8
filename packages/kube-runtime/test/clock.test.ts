import { describe, expect, it } from 'vitest';
import { type Clock, systemClock } from '../src/index.js';
import { FakeClock } from '../src/testing.js';

/** What every Clock must do; the fake runs the same suite as the real one so tests on it mean something. */
function clockContract(name: string, make: () => { clock: Clock; wait: (ms: number) => Promise<void> }) {
  describe(`Clock contract: ${name}`, () => {
    it('fires timers in due order and moves now() forward', async () => {
      const { clock, wait } = make();
      const start = clock.now();
      const fired: string[] = [];
      clock.setTimeout(() => fired.push('late'), 30);
      clock.setTimeout(() => fired.push('early'), 5);
      await wait(60);
      expect(fired).toEqual(['early', 'late']);
      expect(clock.now() - start).toBeGreaterThanOrEqual(30);
    });

    it('clearTimeout cancels a timer', async () => {
      const { clock, wait } = make();
      const fired: string[] = [];
      const handle = clock.setTimeout(() => fired.push('cancelled'), 5);
      clock.setTimeout(() => fired.push('kept'), 10);
      clock.clearTimeout(handle);
      await wait(40);
      expect(fired).toEqual(['kept']);
    });

    it('clearTimeout of an unknown or fired handle is harmless', async () => {
      const { clock, wait } = make();
      const handle = clock.setTimeout(() => undefined, 1);
      await wait(20);
      clock.clearTimeout(handle);
      clock.clearTimeout(undefined);
    });
  });
}

clockContract('systemClock', () => ({
  clock: systemClock,
  wait: (ms) => new Promise((r) => setTimeout(r, ms)),
}));

clockContract('FakeClock', () => {
  const clock = new FakeClock(1_000);
  return { clock, wait: (ms) => clock.advance(ms) };
});

describe('FakeClock', () => {
  it('lets the promise chain a timer starts settle before the next timer fires', async () => {
    const clock = new FakeClock();
    const seen: Array<[string, number]> = [];
    clock.setTimeout(async () => {
      await Promise.resolve();
      await Promise.resolve();
      seen.push(['chain done', clock.now()]);
    }, 10);
    clock.setTimeout(() => seen.push(['second', clock.now()]), 20);
    await clock.advance(25);
    expect(seen).toEqual([
      ['chain done', 10],
      ['second', 20],
    ]);
    expect(clock.now()).toBe(25);
    expect(clock.pending()).toEqual([]);
  });
});
