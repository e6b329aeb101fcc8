// Issue 6: the playground comes up with every pair pinging, and Ctrl-C removes everything it made.
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../src/mesh/fixture.js';

const PLAYGROUND = fileURLToPath(new URL('../src/cli/playground.ts', import.meta.url));
const E2E = fileURLToPath(new URL('..', import.meta.url));

describe('npm run playground', () => {
  it('shows every pair pinging in the live view, and Ctrl-C stops it cleanly', async () => {
    // One process (tsx as a loader, not a wrapper), so SIGINT reaches the playground as Ctrl-C would.
    const child = spawn(process.execPath, ['--import', 'tsx', PLAYGROUND], {
      cwd: E2E,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(
        () => {
          const views = output.split('WireKube playground (lab ');
          const last = views.at(-2) ?? ''; // the last complete view
          return (
            last.includes('Ctrl-C to stop') &&
            !/ping over mesh addresses:[\s\S]*✗/.test(last) &&
            /node-cone1b/.test(last)
          );
        },
        120_000,
        'a live view where every pair pings',
      );
      const id = /WireKube playground \(lab (\w+)\)/.exec(output)![1]!;
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(output).toContain('done.');
      const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
      expect(left).not.toContain(`${id}-`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 180_000);
});
