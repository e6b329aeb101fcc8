import { describe, expect, it } from 'vitest';
import { type HealthState, initialHealth, nextHealth } from '../../src/gateway/health.js';

const settings = { intervalMs: 5000, failureThreshold: 3, renewMs: 10_000 };

/** Replays probe outcomes every 5 s, acknowledging each write, and lists the writes. */
function replay(outcomes: string): Array<[number, boolean]> {
  let state: HealthState = initialHealth();
  const writes: Array<[number, boolean]> = [];
  [...outcomes].forEach((c, i) => {
    const at = i * 5000;
    const step = nextHealth(
      state,
      { kind: 'probed', ok: c === '+', error: 'connect ETIMEDOUT', atMs: at },
      settings,
    );
    expect(step.wakeAt).toBe(at + 5000);
    state = step.state;
    for (const e of step.effects) {
      writes.push([at / 1000, e.healthy]);
      state = nextHealth(state, { kind: 'written', healthy: e.healthy, atMs: at }, settings).state;
    }
  });
  return writes;
}

describe('nextHealth over recorded probe timelines', () => {
  it.each([
    {
      name: 'healthy at once, renewed every 10 s, not on every probe',
      probes: '+++++',
      writes: [
        [0, true],
        [10, true],
        [20, true],
      ],
    },
    {
      name: 'two failures are not enough; the next pass renews',
      probes: '+--+',
      writes: [
        [0, true],
        [15, true],
      ],
    },
    {
      name: 'threshold 3 failures → unhealthy once',
      probes: '+----',
      writes: [
        [0, true],
        [15, false],
      ],
    },
    {
      name: 'recovers on one success',
      probes: '+---+',
      writes: [
        [0, true],
        [15, false],
        [20, true],
      ],
    },
    { name: 'failing from the start: written at the threshold', probes: '---', writes: [[10, false]] },
    { name: 'unhealthy is not renewed', probes: '---------', writes: [[10, false]] },
  ])('$name ($probes)', ({ probes, writes }) => {
    expect(replay(probes)).toEqual(writes);
  });

  it('a failed write is retried on the next probe', () => {
    const first = nextHealth(initialHealth(), { kind: 'probed', ok: true, error: '', atMs: 0 }, settings);
    expect(first.effects).toHaveLength(1);
    const second = nextHealth(first.state, { kind: 'probed', ok: true, error: '', atMs: 5000 }, settings);
    expect(second.effects).toEqual([{ kind: 'write-lease', healthy: true, message: '', lastProbeMs: 5000 }]);
  });
});
