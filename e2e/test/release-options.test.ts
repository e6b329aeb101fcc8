// The release step's pure parts, from tables: its command line (bad input names the flag), which image goes
// where, and what a package.json needs before it may be published.
import { describe, expect, it } from 'vitest';
import { planImages } from '../../scripts/release/images.mjs';
import { manifestProblems } from '../../scripts/release/manifest.mjs';
import { parseOptions } from '../../scripts/release/options.mjs';
import { stagingNxJson } from '../../scripts/release/staging.mjs';

describe('parseOptions', () => {
  it.each([
    [['--oci-registry', '127.0.0.1:5000'], { steps: ['images', 'chart'], ociRegistry: '127.0.0.1:5000' }],
    [['--npm-registry', 'http://127.0.0.1:4873/'], { steps: ['npm'] }],
    [
      ['--oci-registry=r:5000', '--npm-registry', 'http://127.0.0.1:1', '--only', 'chart,npm'],
      { steps: ['npm', 'chart'] },
    ],
    [
      ['--oci-registry', 'r:1', '--plain-http', '--version', '0.2.0-rc.1'],
      { plainHttp: true, version: '0.2.0-rc.1' },
    ],
    [['--oci-registry', 'r:1', '--programs', 'relay,agent'], { programs: ['agent', 'relay'] }],
    [
      ['--npm-registry', 'http://x:1', '--bump', 'patch', '--projects', '@wirekube/controller'],
      { bump: 'patch', projects: ['@wirekube/controller'] },
    ],
    [['--help', '--only', 'bogus'], { help: true }],
  ])('%j → %j', (argv, expected) => {
    expect(parseOptions(argv)).toMatchObject(expected);
  });

  it.each([
    [[], /nothing to do/],
    [['--oci-registry'], /^--oci-registry: needs a value/],
    [['--oci-registry', 'http://r:5000'], /^--oci-registry: .* is not host:port/],
    [['--only', 'images'], /^--oci-registry: needed/],
    [['--only', 'npm'], /^--npm-registry: needed/],
    [['--oci-registry', 'r:1', '--only', 'helm'], /^--only: unknown step "helm"/],
    [
      ['--npm-registry', 'https://registry.npmjs.org/'],
      /^--npm-registry: registry\.npmjs\.org is a public registry/,
    ],
    [['--npm-registry', 'ftp://x'], /^--npm-registry: .* is not http/],
    [['--oci-registry', 'r:1', '--version', 'v1'], /^--version: "v1" is not a semver version/],
    [['--npm-registry', 'http://x:1', '--bump', 'huge'], /^--bump: "huge"/],
    [['--oci-registry', 'r:1', '--programs', 'kubelet'], /^--programs: unknown program "kubelet"/],
    [['--frobnicate'], /unknown argument "--frobnicate"/],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parseOptions(argv)).toThrow(message);
  });
});

describe('planImages', () => {
  const versions = { agent: '0.1.2', controller: '0.1.0', relay: '0.3.0' };
  it('pushes each local image at its own version by default', () => {
    expect(planImages({ registry: 'r:5000', programs: ['agent', 'relay'], versions })).toEqual([
      {
        program: 'agent',
        source: 'localhost/wirekube/agent:0.1.2',
        sourceTag: '0.1.2',
        target: 'r:5000/wirekube/agent:0.1.2',
      },
      {
        program: 'relay',
        source: 'localhost/wirekube/relay:0.3.0',
        sourceTag: '0.3.0',
        target: 'r:5000/wirekube/relay:0.3.0',
      },
    ]);
  });
  it('retags to --version from --source-tag', () => {
    expect(
      planImages({
        registry: 'r:5000',
        programs: ['controller'],
        versions,
        version: '1.0.0',
        sourceTag: 'dev',
      }),
    ).toEqual([
      {
        program: 'controller',
        source: 'localhost/wirekube/controller:dev',
        sourceTag: 'dev',
        target: 'r:5000/wirekube/controller:1.0.0',
      },
    ]);
  });
});

describe('manifestProblems', () => {
  const good = {
    name: '@wirekube/x',
    version: '0.1.0',
    files: ['dist'],
    publishConfig: { access: 'public' },
    exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } },
    dependencies: { '@wirekube/y': '0.1.0', yaml: '^2.9.1' },
  };
  const built = () => true;
  it('accepts a complete, built manifest', () => {
    expect(manifestProblems(good, built)).toEqual([]);
  });
  it.each([
    [{ ...good, files: undefined }, 'files: missing'],
    [{ ...good, publishConfig: {} }, 'publishConfig.access: must be "public"'],
    [{ ...good, publishConfig: { access: 'public', registry: 'https://x' } }, 'publishConfig.registry: set'],
    [{ ...good, dependencies: { '@wirekube/y': 'workspace:*' } }, 'dependencies.@wirekube/y: "workspace:*"'],
    [{ ...good, peerDependencies: { z: 'file:../z' } }, 'peerDependencies.z: "file:../z"'],
    [{ ...good, version: '1' }, 'version: "1" is not a semver version'],
  ])('%#: %s', (json, problem) => {
    expect(manifestProblems(json, built).join('\n')).toContain(problem);
  });
  it('names an export target that was not built', () => {
    expect(manifestProblems(good, (path) => !path.endsWith('.d.ts'))).toEqual([
      'exports["."]["types"]: ./dist/index.d.ts does not exist (build first)',
    ]);
  });
});

describe('stagingNxJson', () => {
  it('keeps the release block, resolves the version actions and adds the publish plugin', () => {
    const staged = stagingNxJson(
      {
        release: { projectsRelationship: 'independent', version: { versionActions: './v.cjs' } },
        targetDefaults: {},
      },
      '/repo',
    );
    expect(staged.release).toEqual({
      projectsRelationship: 'independent',
      version: { versionActions: '/repo/v.cjs' },
    });
    expect(staged.plugins).toEqual([expect.stringMatching(/scripts\/release\/nx\/publish-plugin\.cjs$/)]);
    expect(staged).not.toHaveProperty('targetDefaults');
  });
});
