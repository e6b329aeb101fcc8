import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SysctlError } from '../errors.js';

/**
 * A sysctl named by its path components, e.g. ['net', 'ipv4', 'conf', 'wire_kube', 'rp_filter'].
 * Components rather than a dotted string, because interface names may contain dots.
 */
export type SysctlKey = readonly string[];

export interface SysctlSetting {
  key: SysctlKey;
  value: string | number;
}

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

/** Reads and writes /proc/sys, or wherever a container mounted the host's copy (`procRoot`). */
export class Sysctls {
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

  /** Writes the value unless it is already set; returns the change, or undefined when nothing changed. */
  async set(key: SysctlKey, value: string | number): Promise<SysctlChange | undefined> {
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
    this.logger?.info({ event: 'sysctl.changed', ...change });
    return change;
  }

  /** Applies every setting in order; returns the ones that changed. */
  async apply(settings: readonly SysctlSetting[]): Promise<SysctlChange[]> {
    const changes: SysctlChange[] = [];
    for (const setting of settings) {
      const change = await this.set(setting.key, setting.value);
      if (change) changes.push(change);
    }
    return changes;
  }
}

export interface MeshSysctlOptions {
  /** The WireGuard interface. */
  iface: string;
  /** Route packets between interfaces (gateways, and nodes forwarding for pods). Default true. */
  ipForward?: boolean;
  /** rp_filter on the WireGuard interface: 0 off, 1 strict, 2 loose. Default 2. */
  rpFilter?: 0 | 1 | 2;
  /** Accept packets with a local source address on the WireGuard interface (relay proxy on loopback). */
  acceptLocal?: boolean;
}

/**
 * The sysctls a WireKube node needs: no IPsec policy/transform lookups on the WireGuard interface
 * (disable_xfrm, disable_policy), a loose reverse-path filter, forwarding, accept_local.
 */
export function meshSysctls(options: MeshSysctlOptions): SysctlSetting[] {
  const conf = (name: string): SysctlKey => ['net', 'ipv4', 'conf', options.iface, name];
  const settings: SysctlSetting[] = [
    { key: conf('disable_xfrm'), value: 1 },
    { key: conf('disable_policy'), value: 1 },
    { key: conf('rp_filter'), value: options.rpFilter ?? 2 },
  ];
  if (options.acceptLocal ?? true) settings.push({ key: conf('accept_local'), value: 1 });
  if (options.ipForward ?? true) settings.push({ key: ['net', 'ipv4', 'ip_forward'], value: 1 });
  return settings;
}
