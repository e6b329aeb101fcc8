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

/** PIDs of every process in a network namespace whose command line contains `needle`. */
export async function pidsInNetns(netns: string, needle: string): Promise<number[]> {
  const { stdout } = await run(['ip', 'netns', 'pids', netns], { allowFail: true });
  const pids = stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((p) => Number.isInteger(p) && p > 0);
  return pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(needle);
    } catch {
      return false;
    }
  });
}
