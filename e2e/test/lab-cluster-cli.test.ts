// Issue 11.11: Ctrl-C on `npm run lab:cluster` left /run/wirekube-lab/<id>/ (the lab's CA and admin keys) in 3
// of 6 tries. The `tsx` wrapper relayed SIGINT to its child and SIGKILLed it when the acknowledgement took more
// than 30 ms, mid-teardown. Here Ctrl-C is what a terminal sends: SIGINT to the whole process group of
// `npm run lab:cluster`, at different moments of its life; every time, nothing of the run may be left once npm
// has exited.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { STATE_ROOT } from '../src/state/runs.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function descends(pid: number, ancestor: number): boolean {
  for (
    let current: number | undefined = pid;
    current !== undefined && current > 1;
    current = parentOf(current)
  ) {
    if (current === ancestor) return true;
  }
  return false;
}

/** The run record (id) created by a process under `root`, if there is one yet. */
function runOf(root: number): string | undefined {
  let files: string[] = [];
  try {
    files = readdirSync(join(STATE_ROOT, 'runs')).filter((file) => file.endsWith('.json'));
  } catch {
    return undefined;
  }
  for (const file of files) {
    try {
      const record = JSON.parse(readFileSync(join(STATE_ROOT, 'runs', file), 'utf8')) as {
        ownerPid?: number;
      };
      if (typeof record.ownerPid === 'number' && descends(record.ownerPid, root)) return file.slice(0, -5);
    } catch {
      // Being written, or gone.
    }
  }
  return undefined;
}

function namespacesOf(id: string): string[] {
  try {
    return readdirSync('/run/netns').filter((ns) => ns.startsWith(`${id}-`));
  } catch {
    return [];
  }
}

/** Processes whose network namespace is one of `inodes`. */
function processesIn(inodes: Set<string>): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (inodes.has(readlinkSync(`/proc/${entry}/ns/net`))) {
        found.push(`${entry} ${readFileSync(`/proc/${entry}/comm`, 'utf8').trim()}`);
      }
    } catch {
      // Exited meanwhile.
    }
  }
  return found;
}

type Moment = 'run-recorded' | 'creating' | 'up' | 'running';

/** Starts `npm run lab:cluster` as its own job, presses Ctrl-C at `moment`, and reports what is left. */
async function interruptAt(moment: Moment) {
  const child = spawn('npm', ['run', 'lab:cluster'], {
    cwd: REPO,
    detached: true, // its own process group, as a terminal's foreground job
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const pid = child.pid!;
  let id: string | undefined;
  const inodes = new Set<string>();
  const watch = () => {
    id ??= runOf(pid);
    if (id) {
      for (const ns of namespacesOf(id)) {
        try {
          inodes.add(`net:[${statSync(`/run/netns/${ns}`).ino}]`);
        } catch {
          // Deleted meanwhile.
        }
      }
    }
  };
  const until = async (what: string, done: () => boolean) => {
    const deadline = Date.now() + 90_000;
    while (!done()) {
      watch();
      if (child.exitCode !== null) throw new Error(`lab:cluster exited before ${what}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`no ${what} after 90 s:\n${output}`);
      await sleep(5);
    }
    watch();
  };
  try {
    await until('run record', () => id !== undefined);
    if (moment === 'creating') await sleep(700);
    if (moment === 'up' || moment === 'running') await until('"is up"', () => output.includes(' is up'));
    if (moment === 'running') await sleep(1_000);
    watch();
    process.kill(-pid, 'SIGINT');
    const code = await Promise.race([exited, sleep(60_000).then(() => 'hung' as const)]);
    return {
      id: id!,
      code,
      output,
      dirLeft: existsSync(join(STATE_ROOT, id!)),
      recordLeft: existsSync(join(STATE_ROOT, 'runs', `${id}.json`)),
      namespacesLeft: namespacesOf(id!),
      rootLinkLeft: existsSync(`/sys/class/net/${id}-cp`),
      processesLeft: processesIn(inodes),
    };
  } finally {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Gone, as it should be.
    }
  }
}

describe('npm run lab:cluster', () => {
  it('lab:cluster Ctrl-C leaves no CA or admin keys: teardown finishes before the process exits, every time', async () => {
    const moments: Moment[] = ['run-recorded', 'creating', 'up', 'running'];
    for (const round of [1, 2]) {
      for (const moment of moments) {
        const left = await interruptAt(moment);
        const what = `round ${round}, Ctrl-C at ${moment}, lab ${left.id}:\n${left.output}`;
        expect(left.code, what).toBe(0);
        expect(left.dirLeft, what).toBe(false);
        expect(left.recordLeft, what).toBe(false);
        expect(left.namespacesLeft, what).toEqual([]);
        expect(left.rootLinkLeft, what).toBe(false);
        expect(left.processesLeft, what).toEqual([]);
      }
    }
  }, 600_000);
});
