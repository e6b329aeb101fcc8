import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupHierarchies } from '../state/teardown.js';

/**
 * Creates `cgroup` (e.g. `/wklab-wk12ab-pub`) in every mounted hierarchy: a kubelet with the cgroupfs driver
 * on cgroup v1 wants its cgroupRoot to exist everywhere, and two kubelets must not share one.
 */
export function createCgroupRoot(cgroup: string): void {
  for (const hierarchy of cgroupHierarchies()) {
    const path = join(hierarchy, cgroup);
    mkdirSync(path, { recursive: true });
    // A fresh v1 cpuset has no CPUs or memory nodes, and nothing could join it or its children.
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if (existsSync(join(path, file))) writeFileSync(join(path, file), readFileSync(join(hierarchy, file)));
    }
  }
}
