// nx release's version actions for our package.json projects. nx 24's default (@nx/js/src/release) is not
// installed here — @nx/js has no 24.x on the registry — so this is the small part of it we need: read and write
// `version`, and move the pins of dependents in `dependencies`/`peerDependencies`/`optionalDependencies`/
// `devDependencies` when a workspace package they use gets a new version. CommonJS because nx `require`s it.
const { join } = require('node:path');
const { VersionActions } = require('nx/release');

const COLLECTIONS = ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies'];

/** @param {import('nx/src/config/project-graph').ProjectGraph} graph @param {string} project */
function packageName(graph, project) {
  return graph.nodes[project]?.data?.metadata?.js?.packageName ?? project;
}

/** @param {import('nx/src/generators/tree').Tree} tree @param {string} path */
function readJson(tree, path) {
  const text = tree.read(path, 'utf-8');
  if (text === null) throw new Error(`${path}: not found`);
  return JSON.parse(text);
}

/** @param {import('nx/src/generators/tree').Tree} tree @param {string} path @param {unknown} json */
function writeJson(tree, path, json) {
  tree.write(path, `${JSON.stringify(json, null, 2)}\n`);
}

class PackageJsonVersionActions extends VersionActions {
  validManifestFilenames = ['package.json'];
  // nx would run Prettier over the manifests it touched; there is none here (biome formats this repo).
  excludeManifestsFromFormatting = true;

  /** @param {import('nx/src/generators/tree').Tree} tree */
  async readCurrentVersionFromSourceManifest(tree) {
    const manifestPath = join(this.projectGraphNode.data.root, 'package.json');
    const { version } = readJson(tree, manifestPath);
    if (typeof version !== 'string') throw new Error(`${manifestPath}: version: missing`);
    return { currentVersion: version, manifestPath };
  }

  // The release step versions from disk (nx.json: currentVersionResolver "disk"); asking a registry is not
  // supported, and nx says so when configured otherwise.
  async readCurrentVersionFromRegistry() {
    return null;
  }

  /**
   * @param {import('nx/src/generators/tree').Tree} tree
   * @param {import('nx/src/config/project-graph').ProjectGraph} graph
   * @param {string} dependency project name
   */
  async readCurrentVersionOfDependency(tree, graph, dependency) {
    const json = readJson(tree, join(this.projectGraphNode.data.root, 'package.json'));
    const name = packageName(graph, dependency);
    for (const collection of COLLECTIONS) {
      const spec = json[collection]?.[name];
      if (typeof spec === 'string') return { currentVersion: spec, dependencyCollection: collection };
    }
    return { currentVersion: null, dependencyCollection: null };
  }

  /** @param {import('nx/src/generators/tree').Tree} tree @param {string} newVersion */
  async updateProjectVersion(tree, newVersion) {
    const logs = [];
    for (const { manifestPath } of this.manifestsToUpdate) {
      const json = readJson(tree, manifestPath);
      json.version = newVersion;
      writeJson(tree, manifestPath, json);
      logs.push(`✍️  New version ${newVersion} written to manifest: ${manifestPath}`);
    }
    return logs;
  }

  /**
   * @param {import('nx/src/generators/tree').Tree} tree
   * @param {import('nx/src/config/project-graph').ProjectGraph} graph
   * @param {Record<string, string>} dependenciesToUpdate project name → new spec
   */
  async updateProjectDependencies(tree, graph, dependenciesToUpdate) {
    const logs = [];
    for (const { manifestPath } of this.manifestsToUpdate) {
      const json = readJson(tree, manifestPath);
      let changed = 0;
      for (const [project, spec] of Object.entries(dependenciesToUpdate)) {
        const name = packageName(graph, project);
        for (const collection of COLLECTIONS) {
          if (typeof json[collection]?.[name] === 'string' && json[collection][name] !== spec) {
            json[collection][name] = spec;
            changed++;
          }
        }
      }
      if (changed > 0) {
        writeJson(tree, manifestPath, json);
        logs.push(
          `✍️  Updated ${changed} dependenc${changed === 1 ? 'y' : 'ies'} in manifest: ${manifestPath}`,
        );
      }
    }
    return logs;
  }
}

module.exports = PackageJsonVersionActions;
module.exports.default = PackageJsonVersionActions;
