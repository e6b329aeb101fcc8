import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { HelpRequested, OptionsError, parseOptions, USAGE } from '../src/cli/options.js';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

describe('wirekube-agent --help (issue 11.8: it exited 2)', () => {
  it.each([['--help'], ['-h'], ['cleanup', '--help']])(
    '%s asks for the usage, which is not an options error',
    (...argv) => {
      const attempt = () => parseOptions(argv, {});
      expect(attempt).toThrow(HelpRequested);
      expect(attempt).not.toThrow(OptionsError);
    },
  );

  it('prints the usage to stdout and exits 0', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', main, '--help']);
    expect(stdout).toBe(USAGE);
  }, 60_000); // a cold tsx start on a loaded machine, not a performance bound
});
