#!/usr/bin/env node
// The whole test suite, as the README promises: provision the lab (packages, Go-built tools), build every
// package, run every vitest project once and the Go tests (go vet + go test of the agent's Go relay-link,
// scripts/go-test.mjs), and end with the totals of both on a line of their own.
//
//   npm test            everything, lab end-to-end tests included (needs root: namespaces, nftables)
//   npm test -- --unit  skip lab provisioning and the e2e project
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGoTests } from './go-test.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const unitOnly = process.argv.includes('--unit');
const env = { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false', NX_TUI: 'false' };

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  return result.status ?? 1;
}

// A fresh clone has no node_modules: the README promises this one command installs what it needs.
if (!existsSync(join(root, 'node_modules')) && run('bash', ['scripts/install.sh']) !== 0) {
  console.error('npm install failed; see above');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

if (!unitOnly && existsSync(join(root, 'e2e/setup.sh'))) {
  if (run('bash', ['e2e/setup.sh']) !== 0) {
    console.error('lab provisioning failed (e2e/setup.sh); see above');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

if (run('npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=stream']) !== 0) {
  console.error('build failed; see above');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const reportDir = join(root, 'reports');
const report = join(reportDir, 'vitest.json');
mkdirSync(reportDir, { recursive: true });
rmSync(report, { force: true });
const projectArgs = unitOnly ? ['--project', '!e2e'] : [];
const status = run('npx', [
  'vitest',
  'run',
  ...projectArgs,
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
]);

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(report)) {
  const results = JSON.parse(readFileSync(report, 'utf8'));
  passed = results.numPassedTests;
  failed = results.numFailedTests;
  skipped = results.numPendingTests + results.numTodoTests;
  // A suite that failed to load (syntax error, failing hook) has no test results but must count as a failure.
  failed += results.testResults.filter(
    (file) => file.status === 'failed' && file.assertionResults.length === 0,
  ).length;
} else {
  failed = 1;
}
if (status !== 0 && failed === 0) failed = 1;
const go = runGoTests(root, env);
passed += go.passed;
failed += go.failed;
skipped += go.skipped;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
