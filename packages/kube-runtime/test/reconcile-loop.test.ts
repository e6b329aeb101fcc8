import { afterEach, describe, expect, it } from 'vitest';
import { Backoff, ReconcileLoop, type ReconcileOutcome, type ReconcileResult } from '../src/index.js';
import { earliestWake, wakeAt } from '../src/reconcile/wakeups.js';
import { FakeClock } from '../src/testing.js';
import { deferred, silentLog } from './helpers.js';

type Step = ReconcileResult | undefined | Error | Promise<ReconcileResult | undefined>;

/** A reconciler that records when each pass ran and answers from a script (the last answer repeats). */
function scripted(clock: FakeClock, steps: Step[] = [undefined]) {
  const passes: number[] = [];
  const signals: AbortSignal[] = [];
  const reconciler = {
    async reconcile(signal: AbortSignal) {
      passes.push(clock.now());
      signals.push(signal);
      const step = steps.length > 1 ? steps.shift() : steps[0];
      const answer = await step;
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return { reconciler, passes, signals };
}

let loops: ReconcileLoop[] = [];
afterEach(async () => {
  await Promise.all(loops.map((l) => l.stop()));
  loops = [];
});

function setup(steps?: Step[], options: { resyncMs?: number; debounceMs?: number } = {}) {
  const clock = new FakeClock(0);
  const { reconciler, passes, signals } = scripted(clock, steps);
  const outcomes: Array<[ReconcileOutcome, number]> = [];
  const loop = new ReconcileLoop({
    name: 'test',
    reconciler,
    log: silentLog,
    clock,
    backoff: new Backoff(1_000, 30_000, () => 0.5),
    outcomes: { observe: (result, seconds) => outcomes.push([result, seconds]) },
    ...options,
  });
  loops.push(loop);
  return { clock, loop, passes, outcomes, signals };
}

describe('ReconcileLoop', () => {
  it('runs the first pass at once on start, then nothing without a reason', async () => {
    const { clock, loop, passes, outcomes } = setup();
    loop.start();
    await clock.advance(0);
    expect(passes).toEqual([0]);
    await clock.advance(600_000);
    expect(passes).toEqual([0]);
    expect(outcomes).toEqual([['success', 0]]);
  });

  it('requeue-after: runs again after the delay the pass asked for', async () => {
    const { clock, loop, passes, outcomes } = setup([{ requeueAfterMs: 5_000 }]);
    loop.start();
    await clock.advance(12_000);
    expect(passes).toEqual([0, 5_000, 10_000]);
    expect(outcomes.map(([r]) => r)).toEqual(['requeue_after', 'requeue_after', 'requeue_after']);
  });

  it('error backoff: a throwing pass is retried after 1 s, 2 s, 4 s, and the backoff resets on success', async () => {
    const boom = new Error('apiserver down');
    const { clock, loop, passes, outcomes } = setup([boom, boom, boom, undefined, boom, undefined]);
    loop.start();
    await clock.advance(7_000);
    expect(passes).toEqual([0, 1_000, 3_000, 7_000]);
    loop.trigger('peer');
    await clock.advance(100);
    expect(passes.at(-1)).toBe(7_100); // failed again: the backoff starts over at 1 s
    await clock.advance(1_000);
    expect(passes.at(-1)).toBe(8_100);
    expect(outcomes.map(([r]) => r)).toEqual(['error', 'error', 'error', 'success', 'error', 'success']);
  });

  it('coalesces a burst of triggers into one pass after the debounce', async () => {
    const { clock, loop, passes } = setup();
    loop.start();
    await clock.advance(0);
    for (let i = 0; i < 50; i += 1) {
      loop.trigger(`peer-${i}`);
      await clock.advance(1);
    }
    await clock.advance(1_000);
    expect(passes).toEqual([0, 100]);
  });

  it('triggers during a running pass make exactly one more pass, never an overlapping one', async () => {
    const hold = deferred<ReconcileResult | undefined>();
    const { clock, loop, passes } = setup([hold.promise, undefined]);
    loop.start();
    await clock.advance(0);
    loop.trigger('a');
    loop.trigger('b');
    await clock.advance(5_000);
    expect(passes).toEqual([0]); // still running: the timer waits for it
    hold.resolve(undefined);
    await clock.advance(0);
    expect(passes).toEqual([0, 5_000]);
    await clock.advance(5_000);
    expect(passes).toEqual([0, 5_000]);
  });

  it('the earliest wake-up wins: a trigger does not wait for a long requeue, nor a retry', async () => {
    const { clock, loop, passes } = setup([
      { requeueAfterMs: 60_000 },
      new Error('x'),
      { requeueAfterMs: 60_000 },
    ]);
    loop.start();
    await clock.advance(1_000);
    loop.trigger('peer');
    await clock.advance(100);
    expect(passes).toEqual([0, 1_100]);
    // that pass failed: the retry (1 s) comes before the old 60 s requeue
    await clock.advance(1_000);
    expect(passes).toEqual([0, 1_100, 2_100]);
    await clock.advance(59_999);
    expect(passes).toEqual([0, 1_100, 2_100]);
    await clock.advance(1);
    expect(passes).toEqual([0, 1_100, 2_100, 62_100]);
  });

  it('resync: a safety-net pass after resyncMs of quiet, pushed back by every pass', async () => {
    const { clock, loop, passes } = setup([undefined], { resyncMs: 30_000 });
    loop.start();
    await clock.advance(20_000);
    loop.trigger();
    await clock.advance(40_000);
    expect(passes).toEqual([0, 20_100, 50_100]);
  });

  it('a requeue shorter than the resync wins over it', async () => {
    const { clock, loop, passes } = setup([{ requeueAfterMs: 10_000 }, undefined], { resyncMs: 30_000 });
    loop.start();
    await clock.advance(45_000);
    expect(passes).toEqual([0, 10_000, 40_000]);
  });

  it('stop waits for the running pass, aborts its signal and runs nothing more', async () => {
    const hold = deferred<ReconcileResult | undefined>();
    const { clock, loop, passes, signals } = setup([hold.promise, { requeueAfterMs: 10 }]);
    loop.start();
    await clock.advance(0);
    let stopped = false;
    const stopping = loop.stop().then(() => {
      stopped = true;
    });
    await clock.advance(0);
    expect(stopped).toBe(false);
    expect(signals[0]?.aborted).toBe(true);
    hold.resolve({ requeueAfterMs: 10 });
    await stopping;
    loop.trigger('late');
    loop.start();
    await clock.advance(60_000);
    expect(passes).toEqual([0]);
    expect(clock.pending()).toEqual([]);
  });

  it('idle() resolves once the pending pass has run', async () => {
    const { clock, loop, passes } = setup([{ requeueAfterMs: 5_000 }]);
    await loop.idle(); // not started: nothing to wait for
    loop.start();
    let idle = false;
    const waiting = loop.idle().then(() => {
      idle = true;
    });
    expect(idle).toBe(false);
    await clock.advance(0);
    await waiting;
    expect(passes).toEqual([0]);
    await loop.idle(); // only a future requeue is scheduled: idle
    loop.trigger();
    const again = loop.idle();
    await clock.advance(100);
    await again;
    expect(passes).toEqual([0, 100]);
  });
});

describe('earliestWake', () => {
  it.each([
    [{}, undefined],
    [{ requeue: 5 }, { at: 5, reasons: ['requeue'] }],
    [
      { trigger: 100, requeue: 5_000, resync: 300_000 },
      { at: 100, reasons: ['trigger'] },
    ],
    [
      { retry: 2_000, requeue: 2_000 },
      { at: 2_000, reasons: ['requeue', 'retry'] },
    ],
  ])('%o → %o', (wakeups, expected) => {
    expect(earliestWake(wakeups)).toEqual(expected);
  });

  it('wakeAt keeps the earlier of two wake-ups for one reason', () => {
    expect(wakeAt({ requeue: 10 }, 'requeue', 20)).toEqual({ requeue: 10 });
    expect(wakeAt({ requeue: 10 }, 'requeue', 5)).toEqual({ requeue: 5 });
    expect(wakeAt({}, 'retry', 7)).toEqual({ retry: 7 });
  });
});
