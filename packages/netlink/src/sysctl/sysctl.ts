import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type Applier, type SetResult, setResult } from '../applier.js';
import { SysctlError } from '../errors.js';
import type { SysctlKey, SysctlSetting } from '../net/sysctls.js';

export type { MeshSysctlOptions, SysctlKey, SysctlSetting } from '../net/sysctls.js';
export { meshSysctls } from '../net/sysctls.js';

export interface SysctlChange {
  key: string;
  from: string;
  to: string;
}

function checkKey(key: SysctlKey): void {
  if (
    key.length === 0 ||
    key.some((part) => part === '' || part === '.' || part === '..' || part.includes('/'))
  ) {
    throw new SysctlError(`invalid sysctl key ${JSON.stringify(key)}`, { operation: 'sysctl.key' });
  }
}

/**
 * Only `updated` is ever filled: a sysctl always exists, and WireKube does not own its previous value, so
 * `set([])` changes nothing. The per-interface ones go away with the WireGuard interface.
 */
export type SysctlSetResult = SetResult<never, never, SysctlChange>;

/** Reads and writes /proc/sys, or wherever a container mounted the host's copy (`procRoot`). */
export class Sysctls implements Applier<readonly SysctlSetting[], SysctlSetResult> {
  readonly procRoot: string;

  constructor(options: { procRoot?: string; logger?: Logger } = {}) {
    this.procRoot = options.procRoot ?? '/proc/sys';
    this.logger = options.logger;
  }

  private readonly logger: Logger | undefined;

  path(key: SysctlKey): string {
    checkKey(key);
    return join(this.procRoot, ...key);
  }

  async get(key: SysctlKey): Promise<string> {
    const path = this.path(key);
    try {
      return (await readFile(path, 'utf8')).trim();
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      throw new SysctlError(`sysctl.get ${key.join('.')}: ${e.code ?? e.message}`, {
        operation: 'sysctl.get',
        errno: typeof e.errno === 'number' ? Math.abs(e.errno) : undefined,
        code: e.code,
        detail: { path },
      });
    }
  }

  /** Writes one value unless it is already set; returns the change, or undefined when nothing changed. */
  async write(key: SysctlKey, value: string | number): Promise<SysctlChange | undefined> {
    const path = this.path(key);
    const to = String(value);
    const from = await this.get(key);
    // /proc/sys separates multi-value entries with tabs; compare on whitespace-normalised text.
    if (from.split(/\s+/).join(' ') === to.trim().split(/\s+/).join(' ')) return undefined;
    try {
      await writeFile(path, `${to}\n`);
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      throw new SysctlError(`sysctl.set ${key.join('.')}=${to}: ${e.code ?? e.message}`, {
        operation: 'sysctl.set',
        errno: typeof e.errno === 'number' ? Math.abs(e.errno) : undefined,
        code: e.code,
        detail: { path, value: to },
      });
    }
    const change = { key: key.join('.'), from, to };
    this.logger?.info({ event: 'sysctl-changed', ...change }, 'sysctl changed');
    return change;
  }

  /** Writes every setting in order that differs. */
  async set(settings: readonly SysctlSetting[]): Promise<SysctlSetResult> {
    const changes: SysctlChange[] = [];
    for (const setting of settings) {
      const change = await this.write(setting.key, setting.value);
      if (change) changes.push(change);
    }
    return setResult<never, never, SysctlChange>([], [], changes);
  }
}
