// The Go half of the README's test command: `go vet` and `go test -json` of every Go module in the workspace's
// packages (packages/agent/native/relay-link, packages/relay/native/relay), counted per test (subtests included; a package that does
// not build counts as one failure), so scripts/test.mjs can fold them into its one totals line. No Go toolchain
// is a failure, never a skip: CI machines and e2e/setup.sh have it, and skipping would hide the Go tests.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** The Go modules the test command runs, relative to the repository root. */
export const GO_MODULES = ['packages/agent/native/relay-link', 'packages/relay/native/relay'];

/**
 * Counts `go test -json` events. Pure.
 * @param {string} output
 * @returns {{ passed: number, failed: number, skipped: number, failedTests: string[], failedPackages: string[] }}
 */
export function countGoTests(output) {
  /** @type {{ passed: number, failed: number, skipped: number, failedTests: string[], failedPackages: string[] }} */
  const counts = { passed: 0, failed: 0, skipped: 0, failedTests: [], failedPackages: [] };
  const packagesWithFailedTests = new Set();
  const failedPackages = new Set();
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    let event;
    try {
      event = JSON.parse(line);
    } catch {
      continue;
    }
    if (event.Test === undefined) {
      if (event.Action === 'fail') failedPackages.add(event.Package ?? '?');
      continue;
    }
    if (event.Action === 'pass') counts.passed++;
    else if (event.Action === 'skip') counts.skipped++;
    else if (event.Action === 'fail') {
      counts.failed++;
      counts.failedTests.push(`${event.Package} ${event.Test}`);
      packagesWithFailedTests.add(event.Package);
    }
  }
  // A package that failed with no failed test did not build (or its TestMain failed): one failure of its own.
  for (const pkg of failedPackages) {
    if (!packagesWithFailedTests.has(pkg)) {
      counts.failed++;
      counts.failedPackages.push(pkg);
    }
  }
  return counts;
}

/**
 * Runs vet and the tests of each module, printing what failed.
 * @param {string} root
 * @param {NodeJS.ProcessEnv} env
 * @returns {{ passed: number, failed: number, skipped: number }}
 */
export function runGoTests(root, env) {
  const total = { passed: 0, failed: 0, skipped: 0 };
  if (spawnSync('go', ['version'], { env, stdio: 'ignore' }).status !== 0) {
    console.error(
      `go: not on PATH; the Go tests of ${GO_MODULES.join(', ')} count as 1 failure (install Go: CI machines have it, e2e/setup.sh needs it too)`,
    );
    total.failed = 1;
    return total;
  }
  for (const module of GO_MODULES) {
    const cwd = join(root, module);
    const vet = spawnSync('go', ['vet', './...'], { cwd, env, encoding: 'utf8' });
    if (vet.status !== 0) {
      console.error(`go vet ./... in ${module} failed:\n${vet.stderr}${vet.stdout}`);
      total.failed++;
    }
    const test = spawnSync('go', ['test', '-json', './...'], {
      cwd,
      env,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    const counts = countGoTests(test.stdout ?? '');
    if (test.status !== 0 && counts.failed === 0) {
      console.error(`go test ./... in ${module} failed:\n${test.stderr}`);
      counts.failed = 1;
    }
    if (counts.failed > 0) {
      // The failing tests' own output, as `go test` without -json would have shown it.
      const failing = new Set(counts.failedTests);
      const lines = (test.stdout ?? '')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
        .filter(
          (e) => e.Action === 'output' && (e.Test === undefined || failing.has(`${e.Package} ${e.Test}`)),
        )
        .map((e) => e.Output)
        .join('');
      console.error(`go test ./... in ${module}:\n${lines}${test.stderr ?? ''}`);
    }
    console.log(
      `go ${module}: vet ${vet.status === 0 ? 'clean' : 'failed'}, tests ${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ''}`,
    );
    total.passed += counts.passed;
    total.failed += counts.failed;
    total.skipped += counts.skipped;
  }
  return total;
}
