// The per-connection log budget (src/server/log-budget.ts): a token bucket over a clock passed in, from tables.
import { describe, expect, it } from 'vitest';
import { fullLogBudget, type LogBudget, spendLogLine, takeSuppressed } from '../src/server/log-budget.js';

const config = { perSecond: 10, burst: 3 };

/** Spends one line at each time, returns which were written and the budget after. */
function run(times: number[], start: LogBudget = fullLogBudget(config, 0)) {
  let budget = start;
  const written = times.map((now) => {
    const step = spendLogLine(budget, now, config);
    budget = step.budget;
    return step.write;
  });
  return { written, budget };
}

describe('log budget', () => {
  it.each([
    ['a burst up to the limit', [0, 0, 0], [true, true, true], 0],
    ['over the burst', [0, 0, 0, 0, 0], [true, true, true, false, false], 2],
    [
      'refilled at perSecond',
      [0, 0, 0, 0, 100, 100, 150, 200],
      [true, true, true, false, true, false, false, true],
      3,
    ],
    [
      'never above the burst after a long silence',
      [0, 60_000, 60_000, 60_000, 60_000],
      [true, true, true, true, false],
      1,
    ],
    ['a clock that goes back refills nothing', [500, 0, 0, 0, 0], [true, true, true, false, false], 2],
  ])('%s', (_name, times, expected, suppressed) => {
    const { written, budget } = run(times);
    expect(written).toEqual(expected);
    expect(budget.suppressed).toBe(suppressed);
  });

  it('hands the suppressed count to the summary once and starts counting again', () => {
    const { budget } = run([0, 0, 0, 0, 0]);
    const first = takeSuppressed(budget);
    expect(first.suppressed).toBe(2);
    expect(takeSuppressed(first.budget).suppressed).toBe(0);
    // The tokens are untouched by the summary.
    expect(first.budget.tokens).toBe(budget.tokens);
  });
});
