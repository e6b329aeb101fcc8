import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTime } from '../exec/pids.js';
import { type RunResources, teardownSync } from './teardown.js';

/** Where runs record what they own. On tmpfs, like network namespaces, so a reboot clears both. */
export const STATE_ROOT = process.env.WIREKUBE_LAB_STATE ?? '/run/wirekube-lab';
const RUNS = join(STATE_ROOT, 'runs');

interface RunRecord extends RunResources {
  id: string;
  ownerPid: number;
  ownerStart: string | undefined;
}

/**
 * The on-disk record of one lab run. Written before anything is created and rewritten as resources are added,
 * so a run whose owner died (SIGKILL, a crashed vitest worker) can be removed by the next createLab.
 */
export class RunState {
  readonly file: string;
  private record: RunRecord;

  /** Claims `id` atomically (the record file is created exclusively); throws EEXIST when it is taken. */
  constructor(readonly id: string) {
    mkdirSync(RUNS, { recursive: true });
    this.file = join(RUNS, `${id}.json`);
    writeFileSync(this.file, '{}', { flag: 'wx' });
    this.record = {
      id,
      ownerPid: process.pid,
      ownerStart: startTime(process.pid),
      namespaces: [],
      rootLinks: [],
      pids: [],
      dirs: [],
      mounts: [],
      cgroups: [],
    };
    this.save();
  }

  get resources(): RunResources {
    return this.record;
  }

  add(kind: keyof RunResources, values: readonly (string | number)[]): void {
    this.record[kind] ??= [];
    const list = this.record[kind] as (string | number)[];
    for (const value of values) if (!list.includes(value)) list.push(value);
    this.save();
  }

  removePid(value: number): void {
    this.record.pids = this.record.pids.filter((pid) => pid !== value);
    this.save();
  }

  /** Deletes the record itself, after teardown. */
  close(): void {
    rmSync(this.file, { force: true });
  }

  private save(): void {
    writeFileSync(this.file, JSON.stringify(this.record));
  }
}

/** Whether a run ID is free: no record and no namespace already starts with it. */
export function runIdFree(id: string): boolean {
  let namespaces: string[] = [];
  try {
    namespaces = readdirSync('/run/netns');
  } catch {
    // No namespaces at all.
  }
  let records: string[] = [];
  try {
    records = readdirSync(RUNS);
  } catch {
    // No runs yet.
  }
  return !records.includes(`${id}.json`) && !namespaces.some((ns) => ns.startsWith(`${id}-`));
}

function ownerAlive(record: RunRecord): boolean {
  const start = startTime(record.ownerPid);
  return start !== undefined && (record.ownerStart === undefined || start === record.ownerStart);
}

/** Removes every recorded run whose owner process is gone. Returns the IDs it removed. */
export function sweepStaleRuns(): string[] {
  let files: string[];
  try {
    files = readdirSync(RUNS).filter((file) => file.endsWith('.json'));
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const file of files) {
    const path = join(RUNS, file);
    let record: RunRecord;
    try {
      record = JSON.parse(readFileSync(path, 'utf8')) as RunRecord;
    } catch {
      continue; // Being written right now by a live run, or not ours to judge.
    }
    // `{}` is a run being claimed right now; a record without an owner is not ours to judge.
    if (typeof record.ownerPid !== 'number' || ownerAlive(record)) continue;
    // Recorded PIDs may have been reused by now: only kill them if they still sit in our namespaces, which
    // teardown does anyway. So pass no PIDs, only names.
    teardownSync({ ...record, pids: [] }, 500);
    rmSync(path, { force: true });
    swept.push(record.id);
  }
  return swept;
}
