// Per-node mount namespaces. Every lab node shares the machine's filesystem, so hostPath volumes
// (/var/lib/wirekube, /run/wireguard) and kubelet state would collide; each node gets a persistent mount
// namespace (bound to a file under a private holder directory) with per-node directories bound over those paths.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../exec/run.js';

/** Records what to unmount at teardown before the mount exists, so a half-made one is undone too. */
export type RecordMount = (path: string) => void;

/** A directory that is its own private mount: namespace files can only be bound under a private mount. */
export async function createMountHolder(dir: string, record: RecordMount): Promise<void> {
  mkdirSync(dir, { recursive: true });
  record(dir);
  await run(['mount', '--bind', dir, dir]);
  await run(['mount', '--make-private', dir]);
}

export interface NodeMountNamespace {
  /** The file the namespace is bound to: `nsenter --mount=<file>` enters it. */
  file: string;
}

/**
 * A mount namespace that follows the root's mounts (slave) but keeps its own, with `binds` (per-node source
 * directory over a shared path) made inside it. The targets are created (empty) in the root filesystem.
 */
export async function createNodeMountNamespace(
  holder: string,
  name: string,
  binds: readonly { source: string; target: string }[],
  record: RecordMount,
): Promise<NodeMountNamespace> {
  const file = join(holder, name);
  writeFileSync(file, '');
  record(file);
  await run(['unshare', `--mount=${file}`, '--propagation', 'slave', 'true']);
  for (const bind of binds) {
    mkdirSync(bind.source, { recursive: true });
    mkdirSync(bind.target, { recursive: true });
  }
  // `${10}`, not `$10` (which sh reads as `$1` then `0`): there are more than four binds.
  const script = binds.map((_, i) => `mount --bind "\${${2 * i + 1}}" "\${${2 * i + 2}}"`).join(' && ');
  await run([
    'nsenter',
    `--mount=${file}`,
    '--',
    'sh',
    '-c',
    script,
    'binds',
    ...binds.flatMap((bind) => [bind.source, bind.target]),
  ]);
  return { file };
}
