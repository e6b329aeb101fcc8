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

const token = process.env.WIREKUBE_RELEASE_NPM_TOKEN;
const host = new URL(registry);
const nerfDart = `//${host.host}${host.pathname.endsWith('/') ? host.pathname : `${host.pathname}/`}`;
const env = {
  ...process.env,
  // npm reads `//host/:_authToken` from the environment too; a placeholder is enough where anonymous publish
  // is allowed (the lab's verdaccio), npm only refuses to send a publish without any credential.
  [`npm_config_${nerfDart}:_authToken`]: token || 'anonymous-local-release',
};
/** @param {string[]} args */
const npm = (args) => spawnSync('npm', [...args, '--registry', registry], { env, encoding: 'utf8' });

const spec = `${json.name}@${json.version}`;
// The registry's packument says whether this version is there: one HTTP request, not an npm process.
const packumentUrl = new URL(
  json.name.replace('/', '%2f'),
  registry.endsWith('/') ? registry : `${registry}/`,
);
const response = await fetch(packumentUrl, {
  headers: {
    accept: 'application/vnd.npm.install-v1+json',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  },
}).catch((/** @type {Error} */ error) => {
  console.error(`publish-package: GET ${packumentUrl}: ${error.message}`);
  process.exit(1);
});
if (response.status !== 200 && response.status !== 404) {
  console.error(`publish-package: GET ${packumentUrl}: ${response.status} ${await response.text()}`);
  process.exit(1);
}
const known =
  response.status === 200 &&
  Object.hasOwn(/** @type {{ versions?: object }} */ (await response.json()).versions ?? {}, json.version);
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
