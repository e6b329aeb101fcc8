import type { TimerHandle, Timers } from '../../src/timers.js';

interface Entry extends TimerHandle {
  due: number;
  fn: () => void;
  every: number | null;
  cancelled: boolean;
}

/** A clock tests move by hand: nothing fires until advance(). */
export class ManualTimers implements Timers {
  private clock = 0;
  private entries: Entry[] = [];

  now(): number {
    return this.clock;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, null);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, ms);
  }

  clearTimeout(handle: TimerHandle): void {
    (handle as Entry).cancelled = true;
  }

  clearInterval(handle: TimerHandle): void {
    (handle as Entry).cancelled = true;
  }

  /** Pending timeouts (not intervals), soonest first: what a test inspects to see a scheduled retry. */
  pendingTimeouts(): number[] {
    return this.entries
      .filter((e) => !e.cancelled && e.every === null)
      .map((e) => e.due - this.clock)
      .sort((a, b) => a - b);
  }

  /** Moves the clock forward, firing every timer that comes due, in order. */
  advance(ms: number): void {
    const target = this.clock + ms;
    for (;;) {
      const next = this.entries
        .filter((e) => !e.cancelled && e.due <= target)
        .sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.clock = next.due;
      if (next.every === null) next.cancelled = true;
      else next.due += next.every;
      next.fn();
    }
    this.clock = target;
    this.entries = this.entries.filter((e) => !e.cancelled);
  }

  private add(fn: () => void, ms: number, every: number | null): Entry {
    const entry: Entry = {
      due: this.clock + Math.max(1, ms),
      fn,
      every,
      cancelled: false,
      unref: () => entry,
    };
    this.entries.push(entry);
    return entry;
  }
}
