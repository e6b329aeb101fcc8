// Pushes the three program images from the local buildah store (filled by images/build.sh) to an OCI registry.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReleaseError, run } from './exec.mjs';
import { PROGRAMS } from './options.mjs';
import { progress } from './progress.mjs';

/** images/build.sh's default naming: `$REGISTRY/<program>:$TAG`. */
const LOCAL_REGISTRY = 'localhost/wirekube';

/**
 * Which local image goes where. Pure.
 * @param {{ registry: string, programs: readonly string[], versions: Record<string, string>, version?: string, sourceTag?: string }} input
 *   `versions`: each program's package.json version
 * @returns {{ program: string, source: string, sourceTag: string, target: string }[]}
 */
export function planImages({ registry, programs, versions, version, sourceTag }) {
  return programs.map((program) => {
    const own = versions[program];
    if (!own) throw new ReleaseError('images', `no version for ${program}`);
    const tag = sourceTag ?? own;
    return {
      program,
      source: `${LOCAL_REGISTRY}/${program}:${tag}`,
      sourceTag: tag,
      target: `${registry}/wirekube/${program}:${version ?? own}`,
    };
  });
}

/**
 * @param {string} root
 * @returns {Record<string, string>}
 */
export function programVersions(root) {
  return Object.fromEntries(
    PROGRAMS.map((p) => [
      p,
      JSON.parse(readFileSync(join(root, 'packages', p, 'package.json'), 'utf8')).version,
    ]),
  );
}

/** @param {string} ref */
async function hasLocalImage(ref) {
  return (
    (await run('images', 'buildah', ['inspect', '--type', 'image', ref], { allowFailure: true })).code === 0
  );
}

/**
 * @param {{ root: string, registry: string, programs: readonly string[], plainHttp: boolean, version?: string, sourceTag?: string, build: boolean }} options
 * @returns {Promise<{ program: string, image: string, digest: string }[]>}
 */
export async function pushImages(options) {
  const plan = planImages({ ...options, versions: programVersions(options.root) });
  const missing = [];
  for (const item of plan) {
    if (options.build || !(await hasLocalImage(item.source))) missing.push(item);
  }
  // build.sh tags with one TAG for all it builds: group by source tag (one group unless versions differ).
  for (const tag of new Set(missing.map((m) => m.sourceTag))) {
    const programs = missing.filter((m) => m.sourceTag === tag).map((m) => m.program);
    progress(`images: building ${programs.join(', ')} (tag ${tag}) with images/build.sh`);
    await run('images', 'bash', ['images/build.sh', ...programs], {
      cwd: options.root,
      env: { ...process.env, TAG: tag, REGISTRY: LOCAL_REGISTRY },
      echo: true,
    });
  }
  const pushed = [];
  for (const item of plan) {
    progress(`images: pushing ${item.source} → ${item.target}`);
    const started = Date.now();
    const digestFile = join(
      process.env.TMPDIR ?? '/tmp',
      `wirekube-release-digest-${process.pid}-${item.program}`,
    );
    await run('images', 'buildah', [
      'push',
      '--quiet',
      `--tls-verify=${options.plainHttp ? 'false' : 'true'}`,
      '--digestfile',
      digestFile,
      item.source,
      `docker://${item.target}`,
    ]);
    const digest = readFileSync(digestFile, 'utf8').trim();
    await run('images', 'rm', ['-f', digestFile]);
    progress(`images: pushed ${item.target} (${digest}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    pushed.push({ program: item.program, image: item.target, digest });
  }
  return pushed;
}
