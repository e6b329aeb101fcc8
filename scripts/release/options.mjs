// The release step's command line, parsed into one options object. Pure: no I/O, so the usage errors can be
// tested from a table.

export const STEPS = /** @type {const} */ (['npm', 'images', 'chart']);
export const PROGRAMS = /** @type {const} */ (['agent', 'controller', 'relay']);

export const USAGE = `Usage: node scripts/release/run.mjs [options]      (or: npm run release -- [options])

Publishes WireKube to local registries: the npm packages with \`nx release\` (independent versions), the three
images from the local buildah store (images/build.sh) and the Helm chart as an OCI artifact.

  --oci-registry <host:port>  OCI registry for images and chart (needed by --only images,chart)
  --plain-http                talk plain HTTP to the OCI registry (buildah --tls-verify=false, helm --plain-http)
  --npm-registry <url>        npm registry to publish to, e.g. http://127.0.0.1:4873 (needed by --only npm)
  --only <steps>              comma list of npm,images,chart (default: every step whose registry is given)
  --version <semver>          tag of the pushed images and version of the chart (default: each package's
                              version for its image, Chart.yaml's version for the chart)
  --source-tag <tag>          local image tag to push (default: the package's version, as images/build.sh tags)
  --programs <names>          images: only these of agent,controller,relay (default: all three)
  --build                     run images/build.sh first even when the local images exist
  --bump <specifier>          npm: bump before publishing (patch, minor, major, prerelease or an exact semver);
                              default: publish the versions in the package.json files
  --npm-token <token>         npm: token for --npm-registry (default: a placeholder, enough where anonymous
                              publish is allowed, as in the lab's verdaccio; or set WIREKUBE_NPM_TOKEN)
  --projects <names>          npm: only these packages (comma list, e.g. @wirekube/controller); with --bump,
                              packages that depend on them are bumped too (nx release, independent mode)
  --help                      this text

Images go to <oci-registry>/wirekube/{agent,controller,relay}:<version>, the chart to
oci://<oci-registry>/charts/wirekube. The last line on stdout is a JSON summary of what was published.`;

export class UsageError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'UsageError';
  }
}

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const BUMPS = new Set(['patch', 'minor', 'major', 'prepatch', 'preminor', 'premajor', 'prerelease']);
const VALUE_FLAGS = new Set([
  '--oci-registry',
  '--npm-registry',
  '--only',
  '--version',
  '--source-tag',
  '--bump',
  '--projects',
  '--npm-token',
  '--programs',
]);
const SWITCHES = new Set(['--plain-http', '--build', '--help']);

/**
 * @typedef {{
 *   help: boolean,
 *   steps: ('npm'|'images'|'chart')[],
 *   ociRegistry?: string,
 *   npmRegistry?: string,
 *   plainHttp: boolean,
 *   version?: string,
 *   sourceTag?: string,
 *   build: boolean,
 *   programs: ('agent'|'controller'|'relay')[],
 *   bump?: string,
 *   npmToken?: string,
 *   projects?: string[],
 * }} ReleaseOptions
 */

/**
 * @param {readonly string[]} argv arguments after the script name
 * @returns {ReleaseOptions}
 */
export function parseOptions(argv) {
  /** @type {Record<string, string>} */
  const values = {};
  const switches = new Set();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (SWITCHES.has(flag)) {
      switches.add(flag);
    } else if (VALUE_FLAGS.has(flag)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '' || (eq < 0 && value.startsWith('--'))) {
        throw new UsageError(`${flag}: needs a value`);
      }
      values[flag] = value;
    } else {
      throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  if (switches.has('--help')) {
    return { help: true, steps: [], plainHttp: false, build: false, programs: [...PROGRAMS] };
  }

  const ociRegistry = values['--oci-registry'];
  if (
    ociRegistry !== undefined &&
    !/^[A-Za-z0-9.-]+(?::\d+)?$|^\[[0-9a-fA-F:]+\](?::\d+)?$/.test(ociRegistry)
  ) {
    throw new UsageError(`--oci-registry: ${JSON.stringify(ociRegistry)} is not host:port`);
  }
  const npmRegistry = values['--npm-registry'];
  if (npmRegistry !== undefined) {
    let url;
    try {
      url = new URL(npmRegistry);
    } catch {
      throw new UsageError(`--npm-registry: ${JSON.stringify(npmRegistry)} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(`--npm-registry: ${JSON.stringify(npmRegistry)} is not http(s)`);
    }
    // The release is local by design: npmjs.org must never receive a publish from here.
    if (/(^|\.)npmjs\.(org|com)$/.test(url.hostname)) {
      throw new UsageError(
        `--npm-registry: ${url.hostname} is a public registry; this step publishes locally only`,
      );
    }
  }

  /** @type {('npm'|'images'|'chart')[]} */
  let steps;
  if (values['--only'] !== undefined) {
    const names = values['--only']
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const name of names) {
      if (!STEPS.includes(/** @type {never} */ (name))) {
        throw new UsageError(`--only: unknown step ${JSON.stringify(name)} (steps: ${STEPS.join(', ')})`);
      }
    }
    steps = STEPS.filter((s) => names.includes(s));
    if (steps.length === 0) throw new UsageError('--only: no step given');
  } else {
    steps = STEPS.filter((s) => (s === 'npm' ? npmRegistry !== undefined : ociRegistry !== undefined));
    if (steps.length === 0) throw new UsageError('nothing to do: give --oci-registry and/or --npm-registry');
  }
  if ((steps.includes('images') || steps.includes('chart')) && ociRegistry === undefined) {
    throw new UsageError('--oci-registry: needed to push images and the chart');
  }
  if (steps.includes('npm') && npmRegistry === undefined) {
    throw new UsageError('--npm-registry: needed to publish the npm packages');
  }

  const version = values['--version'];
  if (version !== undefined && !SEMVER.test(version)) {
    throw new UsageError(`--version: ${JSON.stringify(version)} is not a semver version (e.g. 0.2.0)`);
  }
  const sourceTag = values['--source-tag'];
  if (sourceTag !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(sourceTag)) {
    throw new UsageError(`--source-tag: ${JSON.stringify(sourceTag)} is not an image tag`);
  }
  const bump = values['--bump'];
  if (bump !== undefined && !BUMPS.has(bump) && !SEMVER.test(bump)) {
    throw new UsageError(
      `--bump: ${JSON.stringify(bump)} is neither ${[...BUMPS].join('/')} nor a semver version`,
    );
  }
  const programNames = values['--programs']
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean) ?? [...PROGRAMS];
  for (const name of programNames) {
    if (!PROGRAMS.includes(/** @type {never} */ (name))) {
      throw new UsageError(
        `--programs: unknown program ${JSON.stringify(name)} (programs: ${PROGRAMS.join(', ')})`,
      );
    }
  }
  if (programNames.length === 0) throw new UsageError('--programs: no program given');
  const programs = PROGRAMS.filter((p) => programNames.includes(p));
  const projects = values['--projects']
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (projects !== undefined && projects.length === 0) throw new UsageError('--projects: no package given');

  return {
    help: false,
    steps,
    ociRegistry,
    npmRegistry,
    plainHttp: switches.has('--plain-http'),
    version,
    sourceTag,
    build: switches.has('--build'),
    programs,
    bump,
    npmToken: values['--npm-token'] ?? process.env.WIREKUBE_NPM_TOKEN,
    projects,
  };
}
