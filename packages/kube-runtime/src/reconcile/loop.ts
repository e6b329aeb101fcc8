import type { Logger } from 'pino';
import { Backoff } from '../backoff/backoff.js';
import { type Clock, systemClock } from '../clock/clock.js';
import { errorMessage } from '../errors/errors.js';
import { earliestWake, type Wakeups, wakeAt } from './wakeups.js';

/** What a pass asks of the loop: `requeueAfterMs` schedules another pass (controller-runtime's `Result`). */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

/** The business logic: one level-triggered pass over everything. It knows no queue, timer or retry. */
export interface Reconciler {
  // biome-ignore lint/suspicious/noConfusingVoidType: a pass with nothing to ask for may simply not return
  reconcile(signal: AbortSignal): Promise<ReconcileResult | void>;
}

export type ReconcileOutcome = 'success' | 'error' | 'requeue_after';

/** Where pass outcomes are counted (a Prometheus counter and histogram in the daemons). */
export interface ReconcileOutcomeSink {
  observe(result: ReconcileOutcome, seconds: number): void;
}

export interface ReconcileLoopOptions {
  /** Names the loop in log lines (`loop` field). */
  name: string;
  reconciler: Reconciler;
  log: Logger;
  /** How long a trigger waits for more triggers to fold into the same pass. Default 100 ms. */
  debounceMs?: number;
  /** A pass at least this often even without triggers: the safety net for a missed watch event. */
  resyncMs?: number;
  /** Delay before retrying a pass that threw; reset by the next pass that does not. Default 1 s → 30 s. */
  backoff?: Backoff;
  outcomes?: ReconcileOutcomeSink;
  clock?: Clock;
}

/**
 * Runs a Reconciler the way controller-runtime runs one: triggers are debounced and coalesced (a burst is one
 * more pass), passes never overlap, a pass that throws is retried with backoff, a pass may ask to run again
 * after a delay, and the earliest of all those wake-ups wins. The daemon wires triggers (watch events) to it and
 * holds no timers or flags of its own.
 */
export class ReconcileLoop {
  private readonly clock: Clock;
  private readonly debounceMs: number;
  private readonly backoff: Backoff;
  private readonly abort = new AbortController();
  private wakeups: Wakeups = {};
  private reasons = new Set<string>();
  private timer: { handle: unknown; at: number } | undefined;
  private running: Promise<void> | undefined;
  private started = false;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: ReconcileLoopOptions) {
    this.clock = options.clock ?? systemClock;
    this.debounceMs = options.debounceMs ?? 100;
    this.backoff = options.backoff ?? new Backoff(1_000, 30_000);
  }

  /** Runs the first pass at once, then whenever a wake-up falls due. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.reasons.add('start');
    this.wakeups = wakeAt(this.wakeups, 'trigger', this.clock.now());
    this.arm();
  }

  /** Asks for a pass after the debounce; triggers within it, or during a running pass, fold into that one pass. */
  trigger(reason = 'trigger'): void {
    if (this.stopped) return;
    this.reasons.add(reason);
    if (this.wakeups.trigger === undefined)
      this.wakeups = { ...this.wakeups, trigger: this.clock.now() + this.debounceMs };
    if (this.started) this.arm();
  }

  /** No more passes; aborts the running pass's signal and waits for it to return. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.disarm();
    this.wakeups = {};
    this.abort.abort();
    await this.running;
    this.releaseIdle();
  }

  /** Resolves once no pass runs and none is due now (scheduled requeues, retries and resyncs do not count). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    if (this.stopped) return true;
    if (this.running) return false;
    if (!this.started) return true;
    const next = earliestWake(this.wakeups);
    return this.wakeups.trigger === undefined && (next === undefined || next.at > this.clock.now());
  }

  private arm(): void {
    if (this.running || this.stopped) return;
    const next = earliestWake(this.wakeups);
    if (this.timer && this.timer.at === next?.at) return;
    this.disarm();
    if (!next) return;
    const handle = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.runPass();
      },
      Math.max(0, next.at - this.clock.now()),
    );
    this.timer = { handle, at: next.at };
  }

  private disarm(): void {
    if (!this.timer) return;
    this.clock.clearTimeout(this.timer.handle);
    this.timer = undefined;
  }

  private runPass(): void {
    if (this.running || this.stopped) return;
    const due = earliestWake(this.wakeups)?.reasons ?? [];
    const reasons = [...this.reasons, ...due.filter((r) => r !== 'trigger')];
    // A pass reconciles everything, so it answers every wake-up; what arrives during it schedules the next one.
    this.wakeups = {};
    this.reasons.clear();
    const startedAt = this.clock.now();
    this.running = this.pass(reasons, startedAt).finally(() => {
      this.running = undefined;
      this.arm();
      if (this.isIdle()) this.releaseIdle();
    });
  }

  private async pass(reasons: string[], startedAt: number): Promise<void> {
    const { reconciler, log, name, outcomes, resyncMs } = this.options;
    let outcome: ReconcileOutcome = 'success';
    try {
      const result = await reconciler.reconcile(this.abort.signal);
      this.backoff.reset();
      const after = result?.requeueAfterMs;
      if (after !== undefined && Number.isFinite(after)) {
        outcome = 'requeue_after';
        this.wakeups = wakeAt(this.wakeups, 'requeue', this.clock.now() + Math.max(0, after));
      }
    } catch (error) {
      outcome = 'error';
      if (!this.stopped) {
        const delay = this.backoff.next();
        this.wakeups = wakeAt(this.wakeups, 'retry', this.clock.now() + delay);
        log.error(
          { event: 'reconcile-failed', loop: name, reasons, err: errorMessage(error), retryInMs: delay },
          'reconcile failed; retrying',
        );
      }
    }
    if (resyncMs !== undefined && !this.stopped)
      this.wakeups = wakeAt(this.wakeups, 'resync', this.clock.now() + resyncMs);
    const seconds = (this.clock.now() - startedAt) / 1000;
    outcomes?.observe(outcome, seconds);
    log.debug({ event: 'reconcile-pass', loop: name, reasons, result: outcome, seconds }, 'reconcile pass');
  }

  private releaseIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
