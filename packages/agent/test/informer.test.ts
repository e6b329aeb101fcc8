import { describe, expect, it } from 'vitest';
import { type InformerLike, ResilientInformer } from '../src/kube/informer.js';
import { Backoff } from '../src/util/backoff.js';
import { silentLog } from './fakes.js';

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
    const delays: number[] = [];
    const informer = new FlakyInformer(3);
    const resilient = new ResilientInformer({
      name: 'test',
      informer,
      log: silentLog,
      onChange: () => undefined,
      backoff: new Backoff(1_000, 30_000, () => 0.5),
      setTimer: (fn, ms) => {
        delays.push(ms);
        return setTimeout(fn, 0);
      },
    });
    await resilient.start();
    expect(informer.starts).toBe(4);
    expect(delays).toEqual([1_000, 2_000, 4_000]);
    expect(resilient.isSynced()).toBe(true);
    expect(resilient.restarts).toBe(3);
  });

  it('stop() ends waiting and retrying', async () => {
    const informer = new FlakyInformer(1_000);
    const resilient = new ResilientInformer({
      name: 'test',
      informer,
      log: silentLog,
      onChange: () => undefined,
      setTimer: (fn) => setTimeout(fn, 5),
    });
    const started = resilient.start();
    await new Promise((r) => setTimeout(r, 30));
    await resilient.stop();
    await started;
    const starts = informer.starts;
    await new Promise((r) => setTimeout(r, 30));
    expect(informer.starts).toBe(starts);
  });
});

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
