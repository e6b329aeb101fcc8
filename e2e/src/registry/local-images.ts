// The three program images in the local buildah store, keyed by the program sources they were built from, so
// that tests reuse them across runs and commits that change only tests, charts or docs (a build takes minutes
// here). The repository is the one e2e/test/images-agent-mesh.test.ts uses (its key is coarser: the whole tree).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../exec/run.js';
import { PROGRAMS, type Program, REPO_ROOT } from './release.js';

/** Test-only repository: nothing here touches images a person built under localhost/wirekube. */
export const TEST_IMAGE_REPOSITORY = 'localhost/wirekube-test';

export interface LocalImages {
  images: Record<Program, string>;
  /** What happened, for the test's log: reused or built (and how long it took). */
  note: string;
}

/** Workspace packages a program's image contains: itself and its @wirekube/* dependencies, transitively. */
export function imagePackages(program: Program): string[] {
  const seen = new Set<string>();
  const visit = (dir: string) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'packages', dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      if (name.startsWith('@wirekube/')) visit(name.slice('@wirekube/'.length));
    }
  };
  visit(program);
  return [...seen].sort();
}

/**
 * The last commit that changed what goes into a program's image: anything but e2e/, charts/, docs and the
 * workspace packages the program does not contain (a relay image does not change with the agent).
 */
export async function sourceRevision(program: Program): Promise<string> {
  const inside = new Set(imagePackages(program));
  const others = readdirSync(join(REPO_ROOT, 'packages')).filter((dir) => !inside.has(dir));
  const { stdout } = await run([
    'git',
    '-C',
    REPO_ROOT,
    'rev-list',
    '-1',
    'HEAD',
    '--',
    '.',
    ':!e2e',
    ':!charts',
    ':!*.md',
    ...others.map((dir) => `:!packages/${dir}`),
  ]);
  return stdout.trim();
}

async function exists(image: string): Promise<boolean> {
  return (await run(['buildah', 'inspect', '--type', 'image', image], { allowFail: true })).code === 0;
}

/** Reuses the images of this source revision, building (in a clean clone of it) only the missing ones. */
export async function localProgramImages(): Promise<LocalImages> {
  const tags = new Map<Program, string>();
  for (const program of PROGRAMS) tags.set(program, `src-${(await sourceRevision(program)).slice(0, 12)}`);
  const images = Object.fromEntries(
    PROGRAMS.map((program) => [program, `${TEST_IMAGE_REPOSITORY}/${program}:${tags.get(program)}`]),
  ) as Record<Program, string>;
  const missing: Program[] = [];
  for (const program of PROGRAMS) if (!(await exists(images[program]))) missing.push(program);
  if (missing.length === 0) return { images, note: `reused ${Object.values(images).join(', ')}` };
  const started = performance.now();
  const work = mkdtempSync(join(tmpdir(), 'wirekube-images-'));
  try {
    // Each missing program from a clean clone at its own revision (the one its tag names).
    const clone = join(work, 'clone');
    await run(['git', 'clone', '--quiet', '--no-checkout', REPO_ROOT, clone], { timeoutMs: 120_000 });
    for (const program of missing) {
      const tag = tags.get(program)!;
      const { stdout } = await run(['git', '-C', clone, 'rev-parse', tag.slice('src-'.length)]);
      await run(['git', '-C', clone, 'checkout', '--quiet', '--force', stdout.trim()]);
      await run(['bash', 'images/build.sh', program], {
        cwd: clone,
        env: { ...process.env, REGISTRY: TEST_IMAGE_REPOSITORY, TAG: tag },
        timeoutMs: 30 * 60_000,
      });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  return { images, note: `built ${missing.map((p) => images[p]).join(', ')} in ${seconds} s` };
}

/**
 * A new tag of a local image with one more label: a new image (new config and manifest digest) that shares
 * every layer, so pushing and pulling it costs seconds. What a patch release looks like to a DaemonSet.
 */
export async function retagWithLabel(image: string, newImage: string, label: string): Promise<void> {
  const { stdout } = await run(['buildah', 'from', '--pull=never', '--quiet', image]);
  const container = stdout.trim().split('\n').at(-1)!;
  try {
    await run(['buildah', 'config', '--label', label, container]);
    await run(['buildah', 'commit', '--quiet', container, newImage], { timeoutMs: 5 * 60_000 });
  } finally {
    await run(['buildah', 'rm', container], { allowFail: true });
  }
}

/** Removes a local image this code made (retagWithLabel). */
export async function removeLocalImage(image: string): Promise<void> {
  await run(['buildah', 'rmi', image], { allowFail: true });
}
