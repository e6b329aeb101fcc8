// The README's test command counts the Go tests of the agent's Go relay-link in its totals line: `go test -json`
// events counted per test (a package that does not build is one failure), and the real module's vet and tests
// pass. Needs `go` on PATH (as e2e/setup.sh does); without it the command fails, which is checked too.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { countGoTests, GO_MODULES, runGoTests } from '../../scripts/go-test.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const line = (event: Record<string, unknown>) => JSON.stringify(event);

describe('countGoTests', () => {
  it.each([
    ['nothing', [], { passed: 0, failed: 0, skipped: 0 }],
    [
      'tests and subtests count, the package line does not',
      [
        line({ Action: 'run', Package: 'p', Test: 'TestA' }),
        line({ Action: 'pass', Package: 'p', Test: 'TestA/one' }),
        line({ Action: 'pass', Package: 'p', Test: 'TestA' }),
        line({ Action: 'skip', Package: 'p', Test: 'TestB' }),
        line({ Action: 'pass', Package: 'p' }),
      ],
      { passed: 2, failed: 0, skipped: 1 },
    ],
    [
      'a failed test, and its package failing with it, is one failure',
      [
        line({ Action: 'fail', Package: 'p', Test: 'TestC' }),
        line({ Action: 'output', Package: 'p', Output: 'FAIL\n' }),
        line({ Action: 'fail', Package: 'p' }),
      ],
      { passed: 0, failed: 1, skipped: 0, failedTests: ['p TestC'] },
    ],
    [
      'a package that fails without a failed test (build failure) is one failure',
      ['# p [p.test]', line({ Action: 'fail', Package: 'q' }), 'not json {'],
      { passed: 0, failed: 1, skipped: 0, failedPackages: ['q'] },
    ],
  ])('%s', (_name, lines, expected) => {
    expect(countGoTests(lines.join('\n'))).toMatchObject(expected);
  });
});

describe('runGoTests', () => {
  it('vets and tests the Go relay-link and the Go relay: some tests, none failed', () => {
    expect(GO_MODULES).toEqual(['packages/agent/native/relay-link', 'packages/relay/native/relay']);
    const result = runGoTests(root, process.env);
    expect(result.failed).toBe(0);
    expect(result.passed).toBeGreaterThan(10);
  }, 120_000);

  it('without go on PATH: a failure, not a skip', () => {
    expect(runGoTests(root, { ...process.env, PATH: '/nonexistent' })).toEqual({
      passed: 0,
      failed: 1,
      skipped: 0,
    });
  });
});
