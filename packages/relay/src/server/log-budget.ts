/**
 * How many per-connection log lines the relay writes: a token bucket, pure. Anyone can open connections, and a
 * line per connection is a cost an attacker chooses (a flood of random registrations wrote two lines each, the
 * largest single item of what they cost the forwarding thread). Lines over the budget are counted instead, and
 * the server writes one summary line per housekeeping sweep. Relay-wide events (listening, closed) are not
 * budgeted.
 */
export interface LogBudgetConfig {
  /** Lines per second, sustained. */
  perSecond: number;
  /** Lines in a burst (a relay restart makes every node register at once). */
  burst: number;
}

export interface LogBudget {
  readonly tokens: number;
  readonly refilledAt: number;
  /** Lines not written since the last summary. */
  readonly suppressed: number;
}

export const fullLogBudget = (config: LogBudgetConfig, now: number): LogBudget => ({
  tokens: config.burst,
  refilledAt: now,
  suppressed: 0,
});

/** Whether one more line may be written now, and the budget after it. */
export function spendLogLine(
  budget: LogBudget,
  now: number,
  config: LogBudgetConfig,
): { budget: LogBudget; write: boolean } {
  const refilled = Math.min(
    config.burst,
    budget.tokens + (Math.max(0, now - budget.refilledAt) * config.perSecond) / 1000,
  );
  if (refilled >= 1) return { budget: { ...budget, tokens: refilled - 1, refilledAt: now }, write: true };
  return { budget: { tokens: refilled, refilledAt: now, suppressed: budget.suppressed + 1 }, write: false };
}

/** The count to report in a summary line (0: nothing to say), and the budget with the count reset. */
export function takeSuppressed(budget: LogBudget): { budget: LogBudget; suppressed: number } {
  return { budget: { ...budget, suppressed: 0 }, suppressed: budget.suppressed };
}
