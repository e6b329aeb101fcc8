#!/usr/bin/env node
// One package's `nx-release-publish` target (see nx/publish-plugin.cjs): run in the package's directory, it
// checks the manifest, skips a version the registry already has (independent versions: an unchanged package is
// not published again) and otherwise runs `npm publish`. The registry and token come from the release step
// (WIREKUBE_RELEASE_REGISTRY, WIREKUBE_RELEASE_NPM_TOKEN) so nothing else in the environment points npm at it.
// Its result is one marker line the release step reads back.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { manifestProblems } from './manifest.mjs';
import { formatResult } from './publish-result.mjs';

const registry = process.env.WIREKUBE_RELEASE_REGISTRY;
if (!registry) {
  console.error(
    'publish-package: WIREKUBE_RELEASE_REGISTRY is not set (run it through scripts/release/run.mjs)',
  );
  process.exit(2);
}
const json = JSON.parse(readFileSync('package.json', 'utf8'));
const problems = manifestProblems(json, (path) => existsSync(join(process.cwd(), path)));
if (problems.length > 0) {
  console.error(`publish-package: ${json.name}/package.json:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}

const host = new URL(registry);
const nerfDart = `//${host.host}${host.pathname.endsWith('/') ? host.pathname : `${host.pathname}/`}`;
const env = {
  ...process.env,
  // npm reads `//host/:_authToken` from the environment too; a placeholder is enough where anonymous publish
  // is allowed (the lab's verdaccio), npm only refuses to send a publish without any credential.
  [`npm_config_${nerfDart}:_authToken`]: process.env.WIREKUBE_RELEASE_NPM_TOKEN || 'anonymous-local-release',
};
/** @param {string[]} args */
const npm = (args) => spawnSync('npm', [...args, '--registry', registry], { env, encoding: 'utf8' });

const spec = `${json.name}@${json.version}`;
const view = npm(['view', spec, 'version', '--json']);
const known = view.status === 0 && view.stdout.trim() !== '' && JSON.parse(view.stdout) === json.version;
if (!known && view.status !== 0 && !/E404|404 Not Found|is not in this registry/.test(view.stderr)) {
  console.error(`publish-package: npm view ${spec}: ${view.stderr.trim().split('\n').slice(-5).join('\n')}`);
  process.exit(1);
}
if (known) {
  console.log(`${spec} is already in ${registry}: skipped`);
} else {
  const publish = npm(['publish', '--tag', 'latest']);
  if (publish.status !== 0) {
    console.error(
      `publish-package: npm publish ${spec}:\n${publish.stderr.trim().split('\n').slice(-15).join('\n')}`,
    );
    process.exit(1);
  }
  console.log(`${spec} published to ${registry}`);
}
console.log(formatResult({ name: json.name, version: json.version, published: !known }));
