import type { Logger } from 'pino';
import { type Clock, systemClock } from '../clock/clock.js';
import { errorMessage } from '../errors/errors.js';
import { decideLease, type LeaseObservation, releasedLease } from './decide.js';
import { LeaseConflictError, type LeaseRecord, type LeaseStore } from './lease-store.js';

export interface LeaseElectorOptions {
  store: LeaseStore;
  /** This candidate's name in the Lease (the pod name). */
  identity: string;
  log: Logger;
  /** How long a standby waits after the holder's last renewal before taking over (default 15 s). */
  leaseDurationMs?: number;
  /** A leader that could not renew for this long stops leading (default 10 s, below leaseDurationMs). */
  renewDeadlineMs?: number;
  /** Renew and retry cadence (default 2 s). */
  retryPeriodMs?: number;
  clock?: Clock;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease: acquire, renew every retryPeriod, give up leading when
 * renewals fail past the renew deadline (before a standby may take over), and release on `stop()` so a standby
 * takes over at once instead of after the lease duration.
 */
export class LeaseElector {
  private readonly clock: Clock;
  private readonly durationSeconds: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private leading = false;
  private lastRenewMs = 0;
  private observed: LeaseObservation | undefined;
  private record: LeaseRecord | undefined;
  private timer: unknown;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(private readonly options: LeaseElectorOptions) {
    this.clock = options.clock ?? systemClock;
    this.durationSeconds = Math.max(1, Math.round((options.leaseDurationMs ?? 15_000) / 1000));
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The current holder as last read, '' when free or unknown. */
  holder(): string {
    return this.record?.holderIdentity ?? '';
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops campaigning; a leader releases the Lease. Never throws. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    await this.running;
    if (!this.leading || !this.record) return;
    this.setLeading(false);
    try {
      await this.options.store.update(releasedLease(this.record, this.clock.now()));
      this.options.log.info({ event: 'leader-released', lease: this.options.store.name }, 'lease released');
    } catch (error) {
      this.options.log.warn(
        { event: 'leader-release-failed', lease: this.options.store.name, err: errorMessage(error) },
        'could not release the lease; a standby takes over when it expires',
      );
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
      });
    }, ms);
  }

  private async tick(): Promise<void> {
    let next = this.retryPeriodMs;
    try {
      const now = this.clock.now();
      const current = await this.options.store.get();
      const { decision, observed } = decideLease({
        record: current,
        identity: this.options.identity,
        nowMs: now,
        leaseDurationSeconds: this.durationSeconds,
        observed: this.observed,
      });
      this.observed = observed;
      this.record = current;
      if (decision.kind === 'wait') {
        this.setLeading(false);
        next = Math.min(this.retryPeriodMs, Math.max(0, decision.retryAtMs - now));
      } else {
        const written =
          decision.kind === 'create'
            ? await this.options.store.create(decision.record)
            : await this.options.store.update(decision.record);
        this.record = written;
        this.observed = { version: written.resourceVersion ?? '', atMs: now };
        this.lastRenewMs = now;
        if (decision.kind === 'create' || decision.takeover) {
          this.options.log.info(
            {
              event: 'leader-acquired',
              lease: this.options.store.name,
              identity: this.options.identity,
              transitions: written.leaseTransitions,
            },
            'became leader',
          );
        }
        this.setLeading(true);
      }
    } catch (error) {
      const conflict = error instanceof LeaseConflictError;
      if (!conflict) {
        this.options.log.warn(
          { event: 'leader-renew-failed', lease: this.options.store.name, err: errorMessage(error) },
          'lease read or write failed',
        );
      }
      // A conflict means someone else wrote the Lease: only a re-read tells whether we still hold it.
      if (this.leading && (conflict || this.clock.now() - this.lastRenewMs >= this.renewDeadlineMs)) {
        this.setLeading(false);
      }
      if (conflict) next = 0;
    }
    this.schedule(next);
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    if (!leading) {
      this.options.log.warn(
        { event: 'leader-lost', lease: this.options.store.name, identity: this.options.identity },
        'stopped leading',
      );
      this.options.onStoppedLeading?.();
    } else {
      this.options.onStartedLeading?.();
    }
  }
}
