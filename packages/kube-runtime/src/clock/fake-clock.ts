import type { Clock } from './clock.js';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A Clock that moves only when told to. `advance(ms)` fires due timers in time order and lets the promise
 * chains they start settle between timers, so an async pass started by a timer finishes "at" that instant.
 */
export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private timers: Timer[] = [];

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { id: this.nextId++, at: this.current + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Timers not yet fired, as delays from now (for assertions on what is scheduled). */
  pending(): number[] {
    return this.sorted().map((t) => t.at - this.current);
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await settle();
    for (;;) {
      const due = this.sorted().find((t) => t.at <= target);
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = Math.max(this.current, due.at);
      due.fn();
      await settle();
    }
    this.current = target;
    await settle();
  }

  private sorted(): Timer[] {
    return [...this.timers].sort((a, b) => a.at - b.at || a.id - b.id);
  }
}

/** Lets every pending promise continuation run (a macrotask boundary drains the microtask queue). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
