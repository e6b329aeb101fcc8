// What a package.json must hold to be published from this repo. Pure: tested from a table.

const LOCAL_PROTOCOLS = /^(workspace|file|link|portal):/;
const COLLECTIONS = ['dependencies', 'peerDependencies', 'optionalDependencies'];

/**
 * Problems that would make a published package broken or not installable, each naming its field.
 * `exists(path)` answers for paths relative to the package directory (exports targets must be built).
 * @param {Record<string, unknown> & { publishConfig?: { access?: unknown, registry?: unknown } }} json
 * @param {(path: string) => boolean} exists
 * @returns {string[]}
 */
export function manifestProblems(json, exists) {
  const problems = [];
  if (typeof json.name !== 'string' || json.name === '') problems.push('name: missing');
  if (typeof json.version !== 'string' || !/^\d+\.\d+\.\d+(?:[-+].+)?$/.test(json.version)) {
    problems.push(`version: ${JSON.stringify(json.version)} is not a semver version`);
  }
  if (!Array.isArray(json.files) || json.files.length === 0) {
    problems.push('files: missing (without it npm publishes src, tests and everything else)');
  }
  if (json.publishConfig?.access !== 'public' && String(json.name).startsWith('@')) {
    problems.push('publishConfig.access: must be "public" for a scoped package');
  }
  if (json.publishConfig?.registry !== undefined) {
    problems.push('publishConfig.registry: set; it would override the registry the release step is given');
  }
  for (const collection of COLLECTIONS) {
    for (const [dep, spec] of Object.entries(json[collection] ?? {})) {
      if (typeof spec !== 'string' || LOCAL_PROTOCOLS.test(spec)) {
        problems.push(`${collection}.${dep}: ${JSON.stringify(spec)} only resolves inside this workspace`);
      }
    }
  }
  /** @type {[string, string][]} */
  const targets = [];
  /** @param {unknown} value @param {string} where */
  const collect = (value, where) => {
    if (typeof value === 'string') targets.push([value, where]);
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) collect(inner, `${where}["${key}"]`);
    }
  };
  collect(json.exports, 'exports');
  if (typeof json.main === 'string') targets.push([json.main, 'main']);
  if (typeof json.types === 'string') targets.push([json.types, 'types']);
  for (const [path, where] of targets) {
    if (!path.includes('*') && !exists(path)) problems.push(`${where}: ${path} does not exist (build first)`);
  }
  return problems;
}
