// Issue 14: Ctrl-C on a process that owns a `kubernetes: true` lab with pods running (containerd shims, pod
// network namespaces on the bridge CNI, kubelet mounts) leaves no namespace, process, mount, cgroup, pod network
// namespace or directory. The exit hooks run the same teardown as lab.destroy().
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../src/mesh/fixture.js';
import { STATE_ROOT } from '../src/state/runs.js';

const here = dirname(fileURLToPath(import.meta.url));

function mountsMentioning(text: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.includes(text));
}

function cgroupsOf(id: string): string[] {
  const found: string[] = [];
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    try {
      for (const entry of readdirSync(join('/sys/fs/cgroup', hierarchy))) {
        if (entry.startsWith(`wklab-${id}-`)) found.push(`${hierarchy}/${entry}`);
      }
    } catch {
      // Not a directory.
    }
  }
  return found;
}

function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(text)) found.push(`${entry} ${cmdline.slice(0, 200)}`);
    } catch {
      // Exited meanwhile.
    }
  }
  return found;
}

const cniNamespaces = () => new Set(readdirSync('/run/netns').filter((ns) => ns.startsWith('cni-')));

describe('Ctrl-C on the owner of a kubernetes: true lab', () => {
  it('tears down every namespace, process, mount, cgroup and directory, pods and pod networks included', async () => {
    const cniBefore = cniNamespaces();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(here, 'fixtures', 'lab-kubernetes-child.ts')],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(
        () => stdout.includes('\n') || child.exitCode !== null,
        240_000,
        'the child lab with pods',
      );
      expect(stdout, stderr).toContain('"id"');
      const { id } = JSON.parse(stdout.split('\n')[0]!) as { id: string };
      const runDir = join(STATE_ROOT, id);
      expect(processesMentioning(runDir).length).toBeGreaterThan(0);
      expect(mountsMentioning(runDir).length).toBeGreaterThan(0);
      expect(cgroupsOf(id).length).toBeGreaterThan(0);
      const began = performance.now();
      // Ctrl-C in a terminal: SIGINT to the whole foreground process group.
      process.kill(-child.pid!, 'SIGINT');
      await exited;
      console.log(
        `kubernetes lab torn down on SIGINT in ${((performance.now() - began) / 1000).toFixed(1)} s`,
      );
      expect(readdirSync('/run/netns').filter((ns) => ns.startsWith(`${id}-`))).toEqual([]);
      expect(processesMentioning(runDir)).toEqual([]);
      expect(mountsMentioning(runDir)).toEqual([]);
      expect(cgroupsOf(id)).toEqual([]);
      expect(existsSync(runDir)).toBe(false);
      // Pod network namespaces live under the run directory, never in the machine's /run/netns.
      expect([...cniNamespaces()].filter((ns) => !cniBefore.has(ns))).toEqual([]);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Gone, as it should be.
      }
    }
  }, 300_000);
});
