/** ping inside lab hosts: round-trip samples, and the longest gap between replies while something happens. */
import type { LabHost } from '../../src/index.js';

export interface PingRun {
  rttsMs: number[];
  /** Receive times (epoch ms, from ping -D). */
  stampsMs: number[];
  sent: number;
}

function parse(stdout: string, sent: number): PingRun {
  const rttsMs: number[] = [];
  const stampsMs: number[] = [];
  for (const m of stdout.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from .* time=([\d.]+) ms/gm)) {
    stampsMs.push(Number(m[1]) * 1000);
    rttsMs.push(Number(m[2]));
  }
  return { rttsMs, stampsMs, sent };
}

export async function ping(
  from: LabHost,
  to: string,
  options: { count: number; intervalS: number; waitS?: number },
): Promise<PingRun> {
  const { stdout } = await from.exec(
    [
      'ping',
      '-n',
      '-D',
      '-c',
      String(options.count),
      '-i',
      String(options.intervalS),
      '-W',
      String(options.waitS ?? 1),
      to,
    ],
    { allowFail: true, timeoutMs: (options.count * options.intervalS + 30) * 1000 },
  );
  return parse(stdout, options.count);
}

/** The longest time without a reply in [startMs, endMs], counting the edges. */
export function longestGapMs(run: PingRun, startMs: number, endMs: number): number {
  let gap = 0;
  let previous = startMs;
  for (const t of [...run.stampsMs.filter((s) => s >= startMs && s <= endMs), endMs]) {
    gap = Math.max(gap, t - previous);
    previous = t;
  }
  return gap;
}

/**
 * Pings every `intervalS` for `seconds` while `during` runs (started `leadS` into the ping), and returns the
 * run with the window it covered.
 */
export async function pingAround(
  from: LabHost,
  to: string,
  seconds: number,
  intervalS: number,
  during: () => Promise<void>,
  leadS = 1,
): Promise<{ run: PingRun; startMs: number; endMs: number; actionMs: number }> {
  const startMs = Date.now();
  const pending = ping(from, to, { count: Math.round(seconds / intervalS), intervalS });
  await new Promise((r) => setTimeout(r, leadS * 1000));
  const actionMs = Date.now();
  await during();
  const run = await pending;
  return { run, startMs: startMs + 200, endMs: Math.max(...run.stampsMs, actionMs), actionMs };
}
