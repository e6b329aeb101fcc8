import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { LabError } from './errors.js';

/** Where e2e/tools/build-tools.sh links the pinned Go-built tools (kube-apiserver, kubelet, etcd, helm, ...). */
export const TOOLS_BIN =
  process.env.WIREKUBE_TOOLS_BIN ??
  join(
    process.env.WIREKUBE_TOOLS_CACHE ??
      join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'wirekube-lab'),
    'bin',
  );

export type Tool =
  | 'kube-apiserver'
  | 'kubectl'
  | 'etcd'
  | 'helm'
  | 'kubelet'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'lab-pause';

/** Absolute path of a lab tool; throws with the fix when provisioning has not run. */
export function toolPath(tool: Tool): string {
  const path = join(TOOLS_BIN, tool);
  if (!existsSync(path)) {
    throw new LabError(`${tool} not found at ${path}: run \`npm run lab:setup\` (bash e2e/setup.sh) first`);
  }
  return path;
}

/** PATH for lab processes: the pinned tools first, so `kubectl` inside a host is the lab's. */
export function labPath(): string {
  return `${TOOLS_BIN}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`;
}
