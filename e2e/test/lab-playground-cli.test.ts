// Issue 11.11, the playground as a newcomer meets it: `--help` printed a stack trace after ≈20 s of silent setup
// and build; nothing at all was printed for 20-25 s; and the `ip netns exec <ns> wg show` hint showed nothing,
// because each host has a private /run/wireguard.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../src/mesh/fixture.js';
import { STATE_ROOT } from '../src/state/runs.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const PLAYGROUND = fileURLToPath(new URL('../src/cli/playground.ts', import.meta.url));

describe('npm run playground, first contact', () => {
  it('playground --help answers at once, before any setup or build, and exits 0', () => {
    const began = performance.now();
    const result = spawnSync('npm', ['run', '--silent', 'playground', '--', '--help'], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 30_000,
    });
    const ms = performance.now() - began;
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('--hosts N');
    expect(result.stdout).toContain('e2e/bin/lab-wg');
    expect(result.stdout).toContain('--kubernetes');
    expect(result.stdout).toContain('get pods,wirekubepeers -A');
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/\[lab:setup\]|\[build-tools\]|building/);
    // npm itself takes a few hundred ms to start; the setup alone used to take seconds, the build 20 s.
    expect(ms).toBeLessThan(5_000);
  });

  it('playground rejects an unknown option with a message and the usage, not a stack trace', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', PLAYGROUND, '--hots', '3'], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/playground: .*'--hots'/);
    expect(result.stderr).toContain('--hosts N');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  }, 60_000);

  it('playground --kubernetes refuses --hosts (its cluster has its own four nodes), with a message', () => {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', PLAYGROUND, '--kubernetes', '--hosts', '3'],
      { cwd: REPO, encoding: 'utf8', timeout: 60_000 },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/playground: --kubernetes .*--hosts/);
  }, 60_000);

  it('playground shows progress all along and prints a wg command that shows the host’s interface', async () => {
    const child = spawn('npm', ['run', 'playground', '--', '--hosts', '2'], {
      cwd: REPO,
      detached: true, // its own process group, as a terminal's foreground job
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const lines: { at: number; text: string }[] = [];
    const began = performance.now();
    const keep = (chunk: Buffer) => {
      output += chunk.toString();
      for (const text of chunk.toString().split('\n').filter(Boolean)) {
        lines.push({ at: performance.now() - began, text });
      }
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(
        () => {
          const last = output.split('WireKube playground (lab ').at(-2) ?? ''; // the last complete view
          return last.includes('Ctrl-C to stop') && !/ping over mesh addresses:[\s\S]*✗/.test(last);
        },
        240_000,
        'a live view where every pair pings',
      );
      // Until the first view, never more than 10 s without a line (each step says every 5 s that it still runs).
      const firstView = lines.findIndex((line) => line.text.includes('WireKube playground (lab '));
      const gaps = lines
        .slice(0, firstView + 1)
        .map((line, i, all) => ({ ms: line.at - (all[i - 1]?.at ?? 0), before: line.text }));
      const longest = gaps.reduce((a, b) => (b.ms > a.ms ? b : a));
      expect(longest.ms, `longest silence, before "${longest.before}":\n${output}`).toBeLessThan(10_000);
      expect(output).toMatch(/\[playground\] building the packages/);
      expect(output).toMatch(/\[playground\] bringing up the lab/);

      const hint = /^(\S*lab-wg \S+)\s+# wg show in a host/m.exec(output)?.[1];
      expect(hint, output).toBeDefined();
      const wg = spawnSync('bash', ['-c', hint!], { cwd: REPO, encoding: 'utf8', timeout: 20_000 });
      expect(wg.status, wg.stderr).toBe(0);
      expect(wg.stdout).toMatch(/interface: wire_kube/);
      expect(wg.stdout).toMatch(/peer: /);

      const id = /WireKube playground \(lab (\w+)\)/.exec(output)![1]!;
      process.kill(-child.pid!, 'SIGINT');
      expect(await exited).toBe(0);
      expect(output).toContain('done.');
      expect(readdirSync('/run/netns').filter((ns) => ns.startsWith(`${id}-`))).toEqual([]);
      expect(existsSync(join(STATE_ROOT, id))).toBe(false);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Gone, as it should be.
      }
    }
  }, 300_000);
});
