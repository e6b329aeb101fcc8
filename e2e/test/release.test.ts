// Issue 14.3, "a local release": the release step (scripts/release/run.mjs) publishes every public package to a
// local npm registry (verdaccio) with nx release in independent mode, and the three images and the chart to a
// local OCI registry (docker-registry); a bump of one package releases only that package; a fresh directory
// installs @wirekube/crd-types from the local registry and imports it. Everything listens on 127.0.0.1 only.
// Images come from the local buildah store (images/build.sh tags localhost/wirekube/<program>:<version>); the
// release step builds the ones missing, which takes minutes the first time.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/exec/run.js';
import { type LoopbackRegistry, startLoopbackRegistry } from '../src/release/docker-registry.js';
import { startVerdaccio, type Verdaccio } from '../src/release/verdaccio.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PACKAGES = ['crd-types', 'netlink', 'relay', 'kube-runtime', 'agent', 'controller'];
const PROGRAMS = ['agent', 'controller', 'relay'];

interface NpmResult {
  name: string;
  version: string;
  published: boolean;
}
interface Summary {
  npm?: NpmResult[];
  images?: { program: string; image: string; digest: string }[];
  chart?: { chart: string; version: string; digest?: string };
}

const ownVersion = (dir: string): string =>
  JSON.parse(readFileSync(join(repo, dir, 'package.json'), 'utf8')).version;
const sourceVersions = () =>
  Object.fromEntries(PACKAGES.map((p) => [`@wirekube/${p}`, ownVersion(`packages/${p}`)]));

let verdaccio: Verdaccio | undefined;
let oci: LoopbackRegistry | undefined;
const timings: Record<string, number> = {};

async function release(args: string[]): Promise<Summary> {
  const started = Date.now();
  const { stdout, stderr, code } = await run(['node', 'scripts/release/run.mjs', ...args], {
    cwd: repo,
    allowFail: true,
    // Builds missing images when the buildah store lacks them (minutes); a warm store pushes in seconds.
    timeoutMs: 25 * 60_000,
  });
  timings[args.join(' ')] = (Date.now() - started) / 1000;
  if (code !== 0) throw new Error(`release ${args.join(' ')} exited ${code}:\n${stderr.slice(-4000)}`);
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Summary;
}

/** The versions verdaccio has of a package (its packument), [] when it has none. */
async function registryVersions(name: string): Promise<string[]> {
  const response = await fetch(`${verdaccio?.url}${name.replace('/', '%2f')}`);
  if (response.status === 404) return [];
  expect(response.status).toBe(200);
  const packument = (await response.json()) as { versions: Record<string, unknown> };
  return Object.keys(packument.versions).sort();
}

async function manifest(repository: string, reference: string) {
  const response = await fetch(`http://${oci?.address}/v2/${repository}/manifests/${reference}`, {
    headers: {
      accept: [
        'application/vnd.oci.image.manifest.v1+json',
        'application/vnd.docker.distribution.manifest.v2+json',
      ].join(', '),
    },
  });
  return {
    status: response.status,
    digest: response.headers.get('docker-content-digest'),
    body:
      response.status === 200
        ? ((await response.json()) as { config: { mediaType: string }; layers: unknown[] })
        : null,
  };
}

beforeAll(async () => {
  [verdaccio, oci] = await Promise.all([startVerdaccio(), startLoopbackRegistry()]);
});

afterAll(async () => {
  await Promise.all([verdaccio?.stop(), oci?.stop()]);
  console.log(`release timings (s): ${JSON.stringify(timings)}`);
});

describe('local release', { timeout: 30 * 60_000 }, () => {
  let first: Summary;

  it('publishes every package, the three images and the chart', async () => {
    first = await release([
      '--npm-registry',
      verdaccio?.url ?? '',
      '--oci-registry',
      oci?.address ?? '',
      '--plain-http',
    ]);
    const versions = sourceVersions();
    expect(first.npm?.map((r) => r.name).sort()).toEqual(Object.keys(versions).sort());
    for (const result of first.npm ?? []) {
      expect(result).toEqual({ name: result.name, version: versions[result.name], published: true });
      expect(await registryVersions(result.name)).toEqual([versions[result.name]]);
    }
    // The tarball holds the built package, not the sources.
    const tarball = (await (await fetch(`${verdaccio?.url}@wirekube%2fcrd-types`)).json()) as {
      versions: Record<string, { dist: { fileCount?: number; tarball: string } }>;
    };
    expect(tarball.versions[versions['@wirekube/crd-types'] ?? '']?.dist.tarball).toMatch(
      /^http:\/\/127\.0\.0\.1:/,
    );

    for (const program of PROGRAMS) {
      const tag = ownVersion(`packages/${program}`);
      const image = await manifest(`wirekube/${program}`, tag);
      expect(image.status, `${program}:${tag}`).toBe(200);
      expect(image.body?.layers.length).toBeGreaterThan(0);
      expect(first.images?.find((i) => i.program === program)?.digest).toBe(image.digest);
    }
    const chartVersion = /^version:\s*(\S+)/m.exec(
      readFileSync(join(repo, 'charts/wirekube/Chart.yaml'), 'utf8'),
    )?.[1];
    const chart = await manifest('charts/wirekube', chartVersion ?? '');
    expect(chart.status).toBe(200);
    expect(chart.body?.config.mediaType).toBe('application/vnd.cncf.helm.config.v1+json');
    expect(first.chart).toMatchObject({
      chart: `oci://${oci?.address}/charts/wirekube`,
      version: chartVersion,
    });
  });

  it('releases again after bumping one package: only that package gets a new version', async () => {
    const before = sourceVersions();
    const second = await release([
      '--npm-registry',
      verdaccio?.url ?? '',
      '--only',
      'npm',
      '--bump',
      'patch',
      '--projects',
      '@wirekube/controller',
    ]);
    const old = before['@wirekube/controller'] ?? '';
    const [major, minor, patch] = old.split('.').map(Number);
    const bumped = `${major}.${minor}.${(patch ?? 0) + 1}`;
    for (const result of second.npm ?? []) {
      if (result.name === '@wirekube/controller') {
        expect(result).toEqual({ name: result.name, version: bumped, published: true });
        expect(await registryVersions(result.name)).toEqual([old, bumped]);
      } else {
        expect(result).toEqual({ name: result.name, version: before[result.name], published: false });
        expect(await registryVersions(result.name)).toEqual([before[result.name]]);
      }
    }
    expect(second.npm).toHaveLength(PACKAGES.length);
    // The bump lives in the release's staging copy: the checkout is untouched.
    expect(sourceVersions()).toEqual(before);
  });

  it('pushes one image retagged with --version, and the chart at that version', async () => {
    const summary = await release([
      '--oci-registry',
      oci?.address ?? '',
      '--plain-http',
      '--only',
      'images,chart',
      '--programs',
      'relay',
      '--version',
      '9.9.9-test.1',
    ]);
    expect(summary.images?.map((i) => i.image)).toEqual([`${oci?.address}/wirekube/relay:9.9.9-test.1`]);
    expect((await manifest('wirekube/relay', '9.9.9-test.1')).status).toBe(200);
    expect((await manifest('wirekube/agent', '9.9.9-test.1')).status).toBe(404);
    expect((await manifest('charts/wirekube', '9.9.9-test.1')).status).toBe(200);
  });

  it('a fresh directory installs @wirekube/crd-types from the local registry and imports it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wirekube-fresh-'));
    try {
      writeFileSync(
        join(dir, 'package.json'),
        JSON.stringify({ name: 'fresh', private: true, type: 'module' }),
      );
      // A throwaway cache: the install must come from the registry, not from this machine's npm cache of the
      // workspace packages.
      await run(
        [
          'npm',
          'install',
          '@wirekube/crd-types',
          '--registry',
          verdaccio?.url ?? '',
          '--cache',
          join(dir, '.npm'),
          '--no-audit',
          '--no-fund',
        ],
        { cwd: dir, timeoutMs: 5 * 60_000 },
      );
      const installed = JSON.parse(
        readFileSync(join(dir, 'node_modules/@wirekube/crd-types/package.json'), 'utf8'),
      );
      expect(installed.version).toBe(ownVersion('packages/crd-types'));
      const { stdout } = await run(
        [
          'node',
          '--input-type=module',
          '-e',
          "import * as api from '@wirekube/crd-types'; console.log(JSON.stringify({ group: api.GROUP, fwmark: api.FWMARK }));",
        ],
        { cwd: dir },
      );
      expect(JSON.parse(stdout)).toEqual({ group: 'wirekube.io', fwmark: 0x574b });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
