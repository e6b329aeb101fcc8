import { describe, expect, it } from 'vitest';
import { Backoff, type InformerLike, ResilientInformer } from '../src/index.js';
import { FakeClock } from '../src/testing.js';
import { silentLog } from './helpers.js';

/** Fails its first `failures` starts the way client-node's informer does: an error callback, then nothing. */
class FlakyInformer implements InformerLike<{ name: string }> {
  starts = 0;
  private errorCb: ((err?: unknown) => void) | undefined;
  constructor(private failures: number) {}
  on(verb: string, cb: (x: never) => void): void {
    if (verb === 'error') this.errorCb = cb as unknown as (err?: unknown) => void;
  }
  async start(): Promise<void> {
    this.starts += 1;
    if (this.failures > 0) {
      this.failures -= 1;
      this.errorCb?.(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    }
  }
  async stop(): Promise<void> {}
  list() {
    return [];
  }
  get() {
    return undefined;
  }
}

describe('ResilientInformer', () => {
  it('restarts after errors with growing backoff, and resolves start() once synced', async () => {
    const clock = new FakeClock();
    const informer = new FlakyInformer(3);
    const resilient = new ResilientInformer({
      name: 'test',
      informer,
      log: silentLog,
      onChange: () => undefined,
      backoff: new Backoff(1_000, 30_000, () => 0.5),
      clock,
    });
    const started = resilient.start();
    await clock.advance(0);
    expect(clock.pending()).toEqual([1_000]);
    await clock.advance(1_000);
    expect(clock.pending()).toEqual([2_000]);
    await clock.advance(2_000);
    expect(clock.pending()).toEqual([4_000]);
    await clock.advance(4_000);
    await started;
    expect(informer.starts).toBe(4);
    expect(resilient.isSynced()).toBe(true);
    expect(resilient.restarts).toBe(3);
    expect(clock.pending()).toEqual([]);
  });

  it('stop() ends waiting and retrying', async () => {
    const clock = new FakeClock();
    const informer = new FlakyInformer(1_000);
    const resilient = new ResilientInformer({
      name: 'test',
      informer,
      log: silentLog,
      onChange: () => undefined,
      clock,
    });
    const started = resilient.start();
    await clock.advance(5_000);
    await resilient.stop();
    await started;
    const starts = informer.starts;
    expect(clock.pending()).toEqual([]);
    await clock.advance(120_000);
    expect(informer.starts).toBe(starts);
  });
});
