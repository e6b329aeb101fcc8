// Issue 11, item 7: in the cleanup Job, /var/lib/wirekube is a hostPath volume — a mount point. Removing the
// directory itself fails with EBUSY, the Job ends Failed after its retries and private.key survives. Here the
// key directory is a real mount point (a tmpfs in a private mount namespace that lives only as long as the
// command), and `wirekube-agent cleanup` must exit 0 with the directory empty and every applier emptied.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab, type LabHost } from '../src/index.js';
import { AGENT_MAIN } from '../src/mesh/fixture.js';

let lab: Lab;
let host: LabHost;
let scratch: string;

beforeAll(async () => {
  lab = await createLab({ hosts: [{ name: 'node1', nat: 'none' }] });
  host = lab.host('node1');
  scratch = mkdtempSync(join(tmpdir(), 'wk-cleanup-mount-'));
});

afterAll(async () => {
  await lab?.destroy();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

// Runs inside its own mount namespace ($1 = key dir, $2 = agent main): mount, fill, clean up, report.
const SCRIPT = [
  'set -u',
  'mount -t tmpfs -o size=1m,mode=0700 wk-keys "$1"',
  'echo YFRuFNlAIcbeD/5hH3LeOdGtYhzcGwvpjFwyxVSTmmM= > "$1/private.key"',
  'mkdir "$1/old" && touch "$1/old/private.key.bak" "$1/.hidden"',
  'node "$2" cleanup --key-dir "$1" --interface wire_kube; echo "exit=$?"',
  'mountpoint -q "$1" && echo mounted=yes || echo mounted=no',
  'echo "left=$(ls -A "$1" | tr "\\n" " ")"',
].join('\n');

describe('wirekube-agent cleanup with the key directory as a mount point (the Job)', () => {
  it('empties the mounted key directory, keeps the mount point, exits 0, and empties every applier', async () => {
    // Something of WireKube's on every surface cleanup owns, so the run has work to do besides the keys.
    await host.exec(['ip', 'route', 'add', '10.92.0.2/32', 'dev', 'lo', 'table', '22347']);
    await host.exec(['ip', 'rule', 'add', 'priority', '200', 'lookup', '22347']);
    await host.exec(['iptables', '-t', 'filter', '-N', 'KUBE-FIREWALL']);
    await host.exec(
      [
        'iptables',
        '-t',
        'filter',
        '-A',
        'KUBE-FIREWALL',
        '-d',
        '127.0.0.0/8',
        '-m',
        'mark',
        '--mark',
        '0x574b',
      ].concat(['-m', 'comment', '--comment', 'wirekube: allow WG relay proxy on loopback', '-j', 'ACCEPT']),
    );
    const keyDir = join(scratch, 'keys');
    await host.exec(['mkdir', '-p', keyDir]);

    const result = await host.exec(
      ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', SCRIPT, 'sh', keyDir, AGENT_MAIN],
      { allowFail: true, timeoutMs: 60_000 },
    );
    const out = result.stdout;
    expect(out, result.stderr).toContain('exit=0');
    expect(out).toContain('mounted=yes');
    expect(out).toMatch(/^left=\s*$/m);
    const report = out
      .split('\n')
      .map((line) => {
        try {
          return JSON.parse(line) as { event?: string; report?: Record<string, unknown> };
        } catch {
          return undefined;
        }
      })
      .find((line) => line?.event === 'cleanup-finished')?.report;
    expect(report).toMatchObject({
      keyEntriesRemoved: 3,
      keyDirKept: true,
      routesFlushed: 1,
      rulesRemoved: 1,
    });
    expect(report?.['iptablesRulesRemoved']).toBe(1);

    expect((await host.exec(['ip', 'route', 'show', 'table', '22347'])).stdout.trim()).toBe('');
    expect((await host.exec(['ip', 'rule', 'show'])).stdout).not.toMatch(/^200:/m);
    expect((await host.exec(['iptables-save'])).stdout).not.toContain('wirekube');
    // The tmpfs lived only in that command's mount namespace: nothing is left mounted here.
    expect((await host.exec(['mountpoint', '-q', keyDir], { allowFail: true })).code).not.toBe(0);
  });
});
