// Publishes the public packages with nx release (independent versions, nx.json `release`) to an npm registry,
// from a staging copy of the workspace (staging.mjs): optional `nx release version <bump>`, then
// `nx release publish`, which publishes each package whose version the registry does not have yet.
import { join } from 'node:path';
import { run } from './exec.mjs';
import { progress } from './progress.mjs';
import { parseResults } from './publish-result.mjs';
import { createStaging } from './staging.mjs';

/**
 * @param {{ root: string, registry: string, token?: string, bump?: string, projects?: string[] }} options
 * @returns {Promise<{ name: string, version: string, published: boolean }[]>}
 */
export async function publishPackages(options) {
  progress('npm: building the packages (nx run-many -t build, cached)');
  const nx = join(options.root, 'node_modules/nx/dist/bin/nx.js');
  const nxEnv = {
    ...process.env,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
    CI: 'true',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
  };
  await run('npm', process.execPath, [nx, 'run-many', '-t', 'build', '--outputStyle=stream'], {
    cwd: options.root,
    env: nxEnv,
  });
  const staging = createStaging(options.root);
  try {
    progress(`npm: staged ${staging.packages.length} packages in ${staging.dir}`);
    const projects = options.projects ? [`--projects=${options.projects.join(',')}`] : [];
    if (options.bump) {
      progress(`npm: nx release version ${options.bump}${projects.length ? ` ${projects[0]}` : ''}`);
      const version = await run(
        'npm',
        process.execPath,
        [
          nx,
          'release',
          'version',
          options.bump,
          ...projects,
          '--git-commit=false',
          '--git-tag=false',
          '--stage-changes=false',
        ],
        { cwd: staging.dir, env: nxEnv },
      );
      for (const line of version.stdout.split('\n')) {
        if (/New version|Updated \d+ dependenc/.test(line)) progress(`npm: ${line.trim()}`);
      }
    }
    // After a bump every package is offered again: the unchanged ones are skipped (the registry has their
    // version), so the summary shows that only the bumped ones (and their dependents) changed.
    const publishProjects = options.bump ? [] : projects;
    progress(`npm: nx release publish --registry ${options.registry}`);
    const publish = await run(
      'npm',
      process.execPath,
      [nx, 'release', 'publish', ...publishProjects, `--registry=${options.registry}`, '--parallel=6'],
      {
        cwd: staging.dir,
        env: {
          ...nxEnv,
          WIREKUBE_RELEASE_REGISTRY: options.registry,
          WIREKUBE_RELEASE_NPM_TOKEN: options.token ?? '',
        },
      },
    );
    const results = parseResults(publish.stdout);
    for (const result of results) {
      progress(
        `npm: ${result.name}@${result.version} ${result.published ? 'published' : 'already there, skipped'}`,
      );
    }
    return results;
  } finally {
    staging.remove();
  }
}
