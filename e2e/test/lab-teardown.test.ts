import { spawn, spawnSync } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLab } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');

function namespacesNow(): string[] {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter(Boolean);
}

/** Running, not a zombie: an orphan's exit is reaped by init whenever init gets to it. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '');
  } catch {
    return false;
  }
}

const LAB_PROGRAMS = new Set(['etcd', 'kube-apiserver', 'turnserver', 'wireguard-go']);

/** Lab programs whose network namespace has no name any more (so no lab owns them). */
function orphanedLabServers(): string[] {
  // The root namespace is not a lab's: programs there (someone's own wireguard-go) are not orphans.
  const named = new Set<string>([readlinkSync('/proc/self/ns/net')]);
  for (const ns of namespacesNow()) {
    try {
      named.add(`net:[${statSync(`/run/netns/${ns}`).ino}]`);
    } catch {
      // Deleted meanwhile.
    }
  }
  const orphans: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (LAB_PROGRAMS.has(comm) && !named.has(readlinkSync(`/proc/${entry}/ns/net`))) {
        orphans.push(`${entry} ${comm}`);
      }
    } catch {
      // Exited meanwhile, or a zombie.
    }
  }
  return orphans;
}

interface ChildInfo {
  id: string;
  namespaces: string[];
  pid: number;
}

/** Starts fixtures/lab-child.ts and resolves once it has printed its lab. */
function startChild() {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'lab-child.ts')], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const info = new Promise<ChildInfo>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('\n')) resolve(JSON.parse(stdout.split('\n')[0] ?? '') as ChildInfo);
    });
    child.on('exit', (code) =>
      reject(new Error(`lab child exited (${code}) before its lab was up: ${stderr}`)),
    );
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { child, info, exited };
}

describe('lab teardown', () => {
  it('destroy kills its processes and deletes its namespaces, and only those', async () => {
    const other = await createLab({ hosts: [{ name: 'x', nat: 'none' }] });
    const lab = await createLab({ hosts: [{ name: 'a', nat: 'cone' }], stun: true });
    try {
      const sleeper = lab.host('a').spawn(['sleep', '600']);
      const wg = await lab.host('a').wireguardGo('wg0');
      expect(namespacesNow()).toEqual(expect.arrayContaining([...lab.namespaces]));
      await lab.destroy();
      expect(namespacesNow().filter((ns) => ns.startsWith(`${lab.id}-`))).toEqual([]);
      expect(alive(sleeper.pid) || alive(wg.pid)).toBe(false);
      expect(orphanedLabServers()).toEqual([]);
      // The other run is untouched.
      expect(namespacesNow()).toEqual(expect.arrayContaining([...other.namespaces]));
      expect((await other.host('x').exec(['true'])).code).toBe(0);
      await lab.destroy(); // idempotent
    } finally {
      await lab.destroy();
      await other.destroy();
    }
    expect(namespacesNow().filter((ns) => ns.startsWith(`${other.id}-`))).toEqual([]);
  });

  it('labs created at the same time with the same host names never collide', async () => {
    const spec = {
      hosts: [
        { name: 'a', nat: 'cone' as const },
        { name: 'b', nat: 'none' as const },
      ],
      stun: true,
    };
    const labs = await Promise.all([createLab(spec), createLab(spec), createLab(spec)]);
    try {
      expect(new Set(labs.map((lab) => lab.id)).size).toBe(3);
      for (const lab of labs) {
        const ping = await lab.host('a').exec(['ping', '-c1', '-W2', lab.host('b').address]);
        expect(ping.stdout).toContain('1 received');
      }
    } finally {
      await Promise.all(labs.map((lab) => lab.destroy()));
    }
    for (const lab of labs) expect(namespacesNow().filter((ns) => ns.startsWith(`${lab.id}-`))).toEqual([]);
  });

  it('a failed createLab leaves nothing behind', async () => {
    const before = namespacesNow();
    await expect(createLab({ hosts: [{ name: 'Bad Name', nat: 'none' }] })).rejects.toThrow(
      /hosts\[0\]\.name/,
    );
    await expect(
      createLab({
        hosts: [
          { name: 'a', nat: 'cone', lan: 'l' },
          { name: 'b', nat: 'symmetric', lan: 'l' },
        ],
      }),
    ).rejects.toThrow(/hosts\[1\]\.nat/);
    await expect(createLab({ controlplane: true } as never)).rejects.toThrow(/controlplane: unknown option/);
    expect(namespacesNow()).toEqual(before);
  });

  it('a control plane that fails to come up takes the whole lab down with it', async () => {
    const crdDir = mkdtempSync(join(tmpdir(), 'wirekube-bad-crds-'));
    writeFileSync(
      join(crdDir, 'bad.yaml'),
      'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: broken\n',
    );
    const before = namespacesNow();
    try {
      await expect(
        createLab({ hosts: [{ name: 'a', nat: 'cone' }], controlPlane: true, crdDir }),
      ).rejects.toThrow(/creating CRD broken/);
      expect(namespacesNow()).toEqual(before);
      // A leaked etcd or kube-apiserver would live on in a network namespace that no longer has a name.
      expect(orphanedLabServers()).toEqual([]);
    } finally {
      rmSync(crdDir, { recursive: true, force: true });
    }
  });

  it('SIGTERM to the owning process tears its lab down', async () => {
    const { child, info, exited } = startChild();
    const lab = await info;
    expect(namespacesNow()).toEqual(expect.arrayContaining([...lab.namespaces]));
    child.kill('SIGTERM');
    await exited;
    expect(namespacesNow().filter((ns) => ns.startsWith(`${lab.id}-`))).toEqual([]);
    expect(alive(lab.pid)).toBe(false);
    expect(orphanedLabServers()).toEqual([]);
  });

  it('a run whose owner died by SIGKILL is swept by the next createLab', async () => {
    const { child, info, exited } = startChild();
    const stale = await info;
    child.kill('SIGKILL');
    await exited;
    expect(namespacesNow()).toEqual(expect.arrayContaining(stale.namespaces));
    const lab = await createLab({ hosts: [] });
    try {
      expect(namespacesNow().filter((ns) => ns.startsWith(`${stale.id}-`))).toEqual([]);
      expect(alive(stale.pid)).toBe(false);
    } finally {
      await lab.destroy();
    }
  });
});
