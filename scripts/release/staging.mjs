// The workspace `nx release` runs in: a temp copy of what gets published (each public package's package.json and
// the files it lists, built dist included), the root's nx.json with the publish plugin added, and the repo's
// node_modules linked in. A bump writes to these copies only, so a local release never edits the checkout
// (tests may release while other tests read the package versions) and never needs a git commit.
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReleaseError } from './exec.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The public packages of the root workspace, in its order.
 * @param {string} root
 * @returns {{ dir: string, name: string, version: string }[]}
 */
export function publicPackages(root) {
  const { workspaces = [] } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return workspaces.flatMap((/** @type {string} */ dir) => {
    const json = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    return json.private ? [] : [{ dir, name: json.name, version: json.version }];
  });
}

/**
 * nx.json for the staging workspace: the release block as configured, with the version actions resolved to an
 * absolute path and the publish plugin added. Pure.
 * @param {{ release?: { version?: { versionActions?: string } } & Record<string, unknown> } & Record<string, unknown>} nxJson
 *   the root's nx.json
 * @param {string} root
 */
export function stagingNxJson(nxJson, root) {
  const release = structuredClone(nxJson.release ?? {});
  if (!release.version?.versionActions)
    throw new ReleaseError('npm', 'nx.json: release.version.versionActions: missing');
  release.version.versionActions = resolve(root, release.version.versionActions);
  return {
    neverConnectToCloud: true,
    analytics: false,
    useDaemonProcess: false,
    plugins: [join(here, 'nx/publish-plugin.cjs')],
    release,
  };
}

/**
 * @param {string} root
 * @returns {{ dir: string, packages: { dir: string, name: string, version: string }[], remove: () => void }}
 */
export function createStaging(root) {
  const staging = mkdtempSync(join(tmpdir(), 'wirekube-release-'));
  const remove = () => rmSync(staging, { recursive: true, force: true });
  try {
    const packages = publicPackages(root);
    for (const pkg of packages) {
      const json = JSON.parse(readFileSync(join(root, pkg.dir, 'package.json'), 'utf8'));
      mkdirSync(join(staging, pkg.dir), { recursive: true });
      cpSync(join(root, pkg.dir, 'package.json'), join(staging, pkg.dir, 'package.json'));
      for (const entry of json.files ?? []) {
        const from = join(root, pkg.dir, entry);
        if (!existsSync(from)) {
          throw new ReleaseError(
            'npm',
            `${pkg.dir}/package.json: files: ${entry} does not exist (build first)`,
          );
        }
        cpSync(from, join(staging, pkg.dir, entry), { recursive: true });
      }
    }
    writeFileSync(
      join(staging, 'package.json'),
      `${JSON.stringify({ name: 'wirekube-release-staging', private: true, workspaces: packages.map((p) => p.dir) }, null, 2)}\n`,
    );
    const nxJson = JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8'));
    writeFileSync(join(staging, 'nx.json'), `${JSON.stringify(stagingNxJson(nxJson, root), null, 2)}\n`);
    symlinkSync(join(root, 'node_modules'), join(staging, 'node_modules'));
    return { dir: staging, packages, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
