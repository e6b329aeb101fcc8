#!/usr/bin/env node
// The local release: npm packages (nx release, independent versions), the three images and the Helm chart, each
// to the registry given. Wires the steps together; each step lives in its own module beside this one.
//
//   node scripts/release/run.mjs --help
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pushChart } from './chart.mjs';
import { ReleaseError } from './exec.mjs';
import { pushImages } from './images.mjs';
import { parseOptions, USAGE, UsageError } from './options.mjs';
import { progress } from './progress.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

async function main() {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`release: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  progress(`steps: ${options.steps.join(', ')}`);
  /** @type {Record<string, unknown>} */
  const summary = {};
  try {
    if (options.steps.includes('npm')) {
      const { publishPackages } = await import('./npm.mjs');
      summary.npm = await publishPackages({
        root,
        registry: /** @type {string} */ (options.npmRegistry),
        token: options.npmToken,
        bump: options.bump,
        projects: options.projects,
      });
    }
    if (options.steps.includes('images')) {
      summary.images = await pushImages({
        root,
        registry: /** @type {string} */ (options.ociRegistry),
        plainHttp: options.plainHttp,
        version: options.version,
        sourceTag: options.sourceTag,
        build: options.build,
        programs: options.programs,
      });
    }
    if (options.steps.includes('chart')) {
      summary.chart = await pushChart({
        root,
        registry: /** @type {string} */ (options.ociRegistry),
        plainHttp: options.plainHttp,
        version: options.version,
      });
    }
  } catch (error) {
    if (!(error instanceof ReleaseError)) throw error;
    process.stderr.write(`release failed: ${error.message}\n`);
    return 1;
  }
  progress('done');
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return 0;
}

process.exitCode = await main();
