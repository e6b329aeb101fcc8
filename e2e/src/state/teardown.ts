import { spawnSync } from 'node:child_process';
import {
  type Dirent,
  existsSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { isAlive, sleepSync } from '../exec/pids.js';

/** What a run owns, by name and PID: enough to remove it without any in-memory state. */
export interface RunResources {
  namespaces: readonly string[];
  /** Interfaces this run created in the root namespace. */
  rootLinks: readonly string[];
  /** Process group leaders this run started (killed by group). */
  pids: readonly number[];
  /** Directories this run created (state, certificates, private /run/wireguard dirs, etcd data). */
  dirs: readonly string[];
  /** Mount points in the root mount namespace (lab nodes' mount namespace holders), unmounted last first. */
  mounts?: readonly string[];
  /** cgroups (paths below each hierarchy's root, e.g. `/wklab-wk12ab-pub`) removed with everything below. */
  cgroups?: readonly string[];
}

export const CGROUP_ROOT = '/sys/fs/cgroup';

/** Every mounted cgroup hierarchy (v1 controllers, the named systemd one, the unified one). */
export function cgroupHierarchies(): string[] {
  try {
    return readdirSync(CGROUP_ROOT, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(CGROUP_ROOT, entry.name));
  } catch {
    return [];
  }
}

/** Every process in the given cgroups or below them, in any hierarchy. */
export function cgroupPids(cgroups: readonly string[]): number[] {
  if (cgroups.length === 0) return [];
  const pids = new Set<number>();
  const collect = (path: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(path, { withFileTypes: true });
    } catch {
      return;
    }
    try {
      for (const line of readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n')) {
        const pid = Number(line);
        if (line && Number.isInteger(pid) && pid !== process.pid) pids.add(pid);
      }
    } catch {
      // Not readable (being removed).
    }
    for (const entry of entries) if (entry.isDirectory()) collect(join(path, entry.name));
  };
  for (const hierarchy of cgroupHierarchies()) for (const cgroup of cgroups) collect(join(hierarchy, cgroup));
  return [...pids];
}

/** rmdir a cgroup and its children, deepest first; a cgroup with live tasks stays (and is retried). */
function removeCgroupTree(path: string): boolean {
  let entries: string[];
  try {
    entries = readdirSync(path, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return true; // gone
  }
  let clean = true;
  for (const entry of entries) clean = removeCgroupTree(join(path, entry)) && clean;
  try {
    rmdirSync(path);
  } catch {
    return false;
  }
  return clean;
}

function removeCgroups(cgroups: readonly string[]): void {
  for (let attempt = 0; attempt < 50; attempt++) {
    let clean = true;
    for (const hierarchy of cgroupHierarchies()) {
      for (const cgroup of cgroups) {
        const path = join(hierarchy, cgroup);
        if (existsSync(path)) clean = removeCgroupTree(path) && clean;
      }
    }
    if (clean) return;
    sleepSync(50); // tasks killed a moment ago are still leaving
  }
}

function ip(args: string[], input?: string) {
  return spawnSync('ip', args, { input, encoding: 'utf8', timeout: 20_000 });
}

/**
 * Processes whose network namespace is one of `namespaces`; everything in a namespace we created is ours.
 * One scan of /proc for all of them (what `ip netns pids` does once per namespace).
 */
export function namespacePids(namespaces: readonly string[]): number[] {
  const inodes = new Set<string>();
  for (const netns of namespaces) {
    try {
      inodes.add(`net:[${statSync(`/run/netns/${netns}`).ino}]`);
    } catch {
      // Not created (yet), or already deleted.
    }
  }
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (inodes.has(readlinkSync(`/proc/${pid}/ns/net`))) pids.push(pid);
    } catch {
      // Exited while we looked.
    }
  }
  return pids;
}

function kill(pid: number, signal: NodeJS.Signals, group: boolean) {
  try {
    process.kill(group ? -pid : pid, signal);
  } catch {
    // Gone already, or not a group leader.
  }
}

/**
 * Removes everything a run owns, synchronously so it also works from an `exit` handler: SIGTERM to our process
 * groups, a short grace, SIGKILL to anything still alive in our groups or our namespaces, then the namespaces,
 * root links and directories. Never touches a PID or a namespace it was not given.
 */
export function teardownSync(resources: RunResources, graceMs = 1500): void {
  for (const pid of resources.pids) kill(pid, 'SIGTERM', true);
  // Pods on a lab node's bridge network run in network namespaces of their own (containerd's, not ours): the
  // run's cgroups are where they are found. Their shims die with the node; the pod's processes would not.
  const inside = () => [
    ...new Set([...namespacePids(resources.namespaces), ...cgroupPids(resources.cgroups ?? [])]),
  ];
  for (const pid of inside()) kill(pid, 'SIGTERM', false);
  const deadline = Date.now() + graceMs;
  const alive = () => [...resources.pids, ...inside()].filter(isAlive);
  while (alive().length > 0 && Date.now() < deadline) sleepSync(20);
  for (const pid of resources.pids) kill(pid, 'SIGKILL', true);
  // A process in a namespace keeps the namespace alive after `ip netns del`, so nothing may survive in it.
  for (let attempt = 0; attempt < 5; attempt++) {
    const left = inside().filter(isAlive);
    if (left.length === 0) break;
    for (const pid of left) kill(pid, 'SIGKILL', false);
    sleepSync(20);
  }
  if (resources.namespaces.length > 0) {
    ip(['-force', '-batch', '-'], `${resources.namespaces.map((ns) => `netns del ${ns}`).join('\n')}\n`);
  }
  // A node's mount namespace (and every mount its kubelet and containerd made in it) ends when its last
  // process has died and its holder is unmounted; lazily, so a busy mount cannot stop the teardown.
  for (const mount of [...(resources.mounts ?? [])].reverse()) {
    spawnSync('umount', ['-l', mount], { timeout: 20_000 });
  }
  if (resources.cgroups && resources.cgroups.length > 0) removeCgroups(resources.cgroups);
  for (const link of resources.rootLinks) {
    // Usually gone with its peer's namespace; deleting it again just fails quietly.
    ip(['link', 'del', link]);
  }
  for (const dir of resources.dirs) {
    // A bind-mounted /run/wireguard lives only in a dead private mount namespace, so plain removal works.
    rmSync(dir, { recursive: true, force: true });
  }
}
