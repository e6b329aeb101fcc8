import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabProcess } from '../exec/process.js';
import type { LabHost } from '../host.js';

/** What a ping run saw: replies by time, and which echoes never came back. */
export interface PingRecord {
  transmitted: number;
  received: number;
  /** Echoes with no reply, not counting the last second's (still in flight when ping was stopped). */
  lost: number;
  /** Reply arrival times, epoch milliseconds, in order. */
  replyTimesMs: number[];
  longestGapMs: number;
  /** Runs of lost echoes: first sequence number, how many, and the time of the reply just before them. */
  lostRuns: Array<{ seq: number; count: number; afterMs: number }>;
}

export interface Pinger {
  readonly process: LabProcess;
  readonly to: string;
  /** Stops ping (SIGINT, as a user would) and returns what it saw. */
  stop(): Promise<PingRecord>;
}

/**
 * A 10 ms ping (by default) from a lab host that runs until `stop()`. Replies carry ping's own timestamps
 * (`-D`), so gaps are measured where the packets are, not where the test happens to be scheduled.
 */
export function startPinger(from: LabHost, to: string, intervalS = 0.01): Pinger {
  // To a file, not through the process's captured output: that keeps only the newest 1 MiB, and a few minutes
  // of 10 ms replies are more (the oldest replies would look lost).
  const dir = mkdtempSync(join(tmpdir(), 'wk-ping-'));
  const file = join(dir, 'ping.out');
  const argv = ['ping', '-n', '-D', '-i', String(intervalS), '-W', '1', to];
  const process = from.spawn(['sh', '-c', 'exec "$@" > "$0" 2>&1', file, ...argv]);
  return {
    process,
    to,
    async stop() {
      // sh execs ping, so this PID is ping's own.
      if (!process.done) globalThis.process.kill(process.pid, 'SIGINT');
      await process.exited;
      try {
        return parsePing(readFileSync(file, 'utf8'), Math.ceil(1 / intervalS));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Parses `ping -n -D` output. `inFlight`: how many of the last echoes may lack a reply without counting. */
export function parsePing(output: string, inFlight: number): PingRecord {
  const replies = [...output.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from [^:]+: icmp_seq=(\d+)/gm)];
  const replyTimesMs = replies.map((m) => Number(m[1]) * 1000);
  const summary = /(\d+) packets transmitted, (\d+) received/.exec(output);
  const transmitted = summary ? Number(summary[1]) : 0;
  let lost = 0;
  const lostRuns: PingRecord['lostRuns'] = [];
  const timeOf = new Map(replies.map((m) => [Number(m[2]), Number(m[1]) * 1000]));
  let lastReplyMs = 0;
  for (let seq = 1; seq <= transmitted - inFlight; seq++) {
    const at = timeOf.get(seq);
    if (at !== undefined) {
      lastReplyMs = at;
      continue;
    }
    lost++;
    const run = lostRuns.at(-1);
    if (run && run.seq + run.count === seq) run.count++;
    else lostRuns.push({ seq, count: 1, afterMs: lastReplyMs });
  }
  return {
    transmitted,
    received: summary ? Number(summary[2]) : replies.length,
    lost,
    lostRuns,
    replyTimesMs,
    longestGapMs: Math.round(longestGap(replyTimesMs, 0, Number.POSITIVE_INFINITY)),
  };
}

/**
 * The longest silence between consecutive replies that overlaps [fromMs, toMs): the outage a user saw in that
 * window. A window with no reply at all counts from its start to the first reply after it.
 */
export function longestGap(replyTimesMs: readonly number[], fromMs: number, toMs: number): number {
  let longest = 0;
  for (let i = 1; i < replyTimesMs.length; i++) {
    const [a, b] = [replyTimesMs[i - 1]!, replyTimesMs[i]!];
    if (b > fromMs && a < toMs) longest = Math.max(longest, b - a);
  }
  return longest;
}
