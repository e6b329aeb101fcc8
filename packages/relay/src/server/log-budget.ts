/**
 * How many per-connection log lines the relay writes: a token bucket, pure. Anyone can open connections, and a
 * line per connection is a cost an attacker chooses (a flood of random registrations wrote two lines each, the
 * largest single item of what they cost the forwarding thread). Lines over the budget are counted instead, and
 * the server writes one summary line per housekeeping sweep. Relay-wide events (listening, closed) are not
 * budgeted.
 */
import { type Bucket, type BucketConfig, fullBucket, take } from './token-bucket.js';

export interface LogBudgetConfig extends BucketConfig {
  /** Lines per second, sustained. */
  readonly perSecond: number;
  /** Lines in a burst (a relay restart makes every node register at once). */
  readonly burst: number;
}

export interface LogBudget extends Bucket {
  /** Lines not written since the last summary. */
  readonly suppressed: number;
}

export const fullLogBudget = (config: LogBudgetConfig, now: number): LogBudget => ({
  ...fullBucket(config, now),
  suppressed: 0,
});

/** Whether one more line may be written now, and the budget after it. */
export function spendLogLine(
  budget: LogBudget,
  now: number,
  config: LogBudgetConfig,
): { budget: LogBudget; write: boolean } {
  const { bucket, taken } = take(budget, now, config);
  return {
    budget: { ...bucket, suppressed: budget.suppressed + (taken ? 0 : 1) },
    write: taken,
  };
}

/** The count to report in a summary line (0: nothing to say), and the budget with the count reset. */
export function takeSuppressed(budget: LogBudget): { budget: LogBudget; suppressed: number } {
  return { budget: { ...budget, suppressed: 0 }, suppressed: budget.suppressed };
}
