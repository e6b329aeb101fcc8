// Once per e2e run: remove what crashed earlier runs left, and at the end fail loudly if this run left a lab
// behind (after removing it), so `ip netns list` is clean after every run.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_ROOT, sweepStaleRuns } from '../src/state/runs.js';
import { teardownSync } from '../src/state/teardown.js';

interface Record {
  id: string;
  ownerPid: number;
  namespaces: string[];
  rootLinks: string[];
  pids: number[];
  dirs: string[];
}

function records(): Record[] {
  try {
    return readdirSync(join(STATE_ROOT, 'runs'))
      .filter((file) => file.endsWith('.json'))
      .map((file) => JSON.parse(readFileSync(join(STATE_ROOT, 'runs', file), 'utf8')) as Record);
  } catch {
    return [];
  }
}

/** Whether `pid` is this process or one of its descendants (a vitest worker). */
function ours(pid: number): boolean {
  for (let current = pid; current > 1; ) {
    if (current === process.pid) return true;
    try {
      const stat = readFileSync(`/proc/${current}/stat`, 'utf8');
      current = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return false;
    }
  }
  return false;
}

let before = new Set<string>();

export function setup() {
  if (process.getuid?.() !== 0) return;
  sweepStaleRuns();
  before = new Set(records().map((record) => record.id));
}

export function teardown() {
  if (process.getuid?.() !== 0) return;
  const leaked = sweepStaleRuns().filter((id) => !before.has(id));
  for (const record of records()) {
    if (before.has(record.id) || !ours(record.ownerPid)) continue;
    teardownSync({ ...record, pids: [] });
    rmSync(join(STATE_ROOT, 'runs', `${record.id}.json`), { force: true });
    leaked.push(record.id);
  }
  if (leaked.length > 0) {
    // vitest reports an error thrown here but still exits 0; the exit code is what CI and scripts/test.mjs read.
    process.exitCode = 1;
    throw new Error(`lab runs left behind by tests (now removed): ${leaked.join(', ')}; call lab.destroy()`);
  }
}
