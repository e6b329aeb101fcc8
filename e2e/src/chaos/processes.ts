import { readFileSync } from 'node:fs';
import { run } from '../exec/run.js';

/** Resident set size of a process in bytes (VmRSS), or undefined once it is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** PIDs of every process in a network namespace, or of those whose command line contains `needle`. */
export async function pidsInNetns(netns: string, needle?: string): Promise<number[]> {
  const { stdout } = await run(['ip', 'netns', 'pids', netns], { allowFail: true });
  const pids = stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((p) => Number.isInteger(p) && p > 0);
  if (needle === undefined) return pids;
  return pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(needle);
    } catch {
      return false;
    }
  });
}

/** CPU time a process has used so far (user + system, all its threads), in seconds; undefined once gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux architecture we run on. */
const CLOCK_TICKS_PER_SECOND = 100;
