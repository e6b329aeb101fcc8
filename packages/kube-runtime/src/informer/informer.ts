import type { Logger } from 'pino';
import { Backoff } from '../backoff/backoff.js';
import { type Clock, systemClock } from '../clock/clock.js';
import { errorMessage } from '../errors/errors.js';

export type InformerVerb = 'add' | 'update' | 'delete';

/** The slice of client-node's informer (ListWatch) this wrapper drives; tests substitute a fake. */
export interface InformerLike<T> {
  on(verb: InformerVerb, cb: (obj: T) => void): void;
  on(verb: 'error' | 'connect', cb: (err?: unknown) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  list(): ReadonlyArray<T>;
  get(name: string): T | undefined;
}

export interface ResilientInformerOptions<T> {
  /** Names the watch in log lines (`informer` field). */
  name: string;
  informer: InformerLike<T>;
  log: Logger;
  onChange: (verb: InformerVerb, obj: T) => void;
  backoff?: Backoff;
  clock?: Clock;
}

/**
 * client-node's informer re-lists by itself after 410 Gone but stops for good on any other error (a restarted
 * API server, a network blip, an expired token). This wraps it once: after an error it starts again with
 * exponential backoff (1 s → 30 s), keeping its cache, so every watch is self-healing.
 */
export class ResilientInformer<T> {
  private readonly backoff: Backoff;
  private readonly clock: Clock;
  private stopped = false;
  private failedDuringStart = false;
  private restartTimer: unknown;
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  restarts = 0;

  constructor(private readonly options: ResilientInformerOptions<T>) {
    this.backoff = options.backoff ?? new Backoff();
    this.clock = options.clock ?? systemClock;
    const { informer, onChange } = options;
    informer.on('add', (obj) => onChange('add', obj));
    informer.on('update', (obj) => onChange('update', obj));
    informer.on('delete', (obj) => onChange('delete', obj));
    informer.on('error', (err) => this.onError(err));
  }

  /** Starts watching; resolves once the first list has succeeded (or the informer is stopped). */
  async start(): Promise<void> {
    this.stopped = false;
    const synced = new Promise<void>((resolve) => {
      if (this.synced) resolve();
      else this.syncWaiters.push(resolve);
    });
    void this.run();
    await synced;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearRestart();
    for (const resolve of this.syncWaiters.splice(0)) resolve();
    await this.options.informer.stop();
  }

  list(): ReadonlyArray<T> {
    return this.options.informer.list();
  }

  get(name: string): T | undefined {
    return this.options.informer.get(name);
  }

  isSynced(): boolean {
    return this.synced;
  }

  private async run(): Promise<void> {
    this.failedDuringStart = false;
    try {
      await this.options.informer.start();
    } catch (error) {
      this.onError(error);
      return;
    }
    if (this.failedDuringStart || this.stopped) return;
    this.backoff.reset();
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  private onError(error: unknown): void {
    this.failedDuringStart = true;
    if (this.stopped || this.restartTimer !== undefined) return;
    const delay = this.backoff.next();
    this.options.log.warn(
      { event: 'watch-failed', informer: this.options.name, err: errorMessage(error), retryInMs: delay },
      'watch failed; restarting',
    );
    this.restartTimer = this.clock.setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      this.restarts += 1;
      void this.run();
    }, delay);
  }

  private clearRestart(): void {
    if (this.restartTimer === undefined) return;
    this.clock.clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }
}
