// Packages charts/wirekube and pushes it as an OCI artifact: oci://<registry>/charts/wirekube:<version>.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReleaseError, run } from './exec.mjs';
import { progress } from './progress.mjs';
import { findTool } from './tools.mjs';

/**
 * @param {{ root: string, registry: string, plainHttp: boolean, version?: string }} options
 * @returns {Promise<{ chart: string, version: string, digest?: string }>}
 */
export async function pushChart(options) {
  const helm = findTool('helm');
  const out = mkdtempSync(join(tmpdir(), 'wirekube-chart-'));
  try {
    // --version and --app-version together: the chart's default image tag is its appVersion, so a release
    // at version V installs the images pushed at V.
    const versionArgs = options.version
      ? ['--version', options.version, '--app-version', options.version]
      : [];
    progress(`chart: helm package charts/wirekube${options.version ? ` --version ${options.version}` : ''}`);
    await run('chart', helm, [
      'package',
      join(options.root, 'charts/wirekube'),
      '--destination',
      out,
      ...versionArgs,
    ]);
    const tgz = readdirSync(out).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new ReleaseError('chart', `helm package wrote no .tgz into ${out}`);
    const version = tgz.replace(/^wirekube-/, '').replace(/\.tgz$/, '');
    const ref = `oci://${options.registry}/charts`;
    progress(`chart: helm push ${tgz} ${ref}`);
    const pushed = await run('chart', helm, [
      'push',
      join(out, tgz),
      ref,
      ...(options.plainHttp ? ['--plain-http'] : []),
    ]);
    const digest = /Digest:\s*(sha256:[0-9a-f]+)/.exec(`${pushed.stdout}\n${pushed.stderr}`)?.[1];
    progress(`chart: pushed ${ref}/wirekube:${version}${digest ? ` (${digest})` : ''}`);
    return { chart: `${ref}/wirekube`, version, digest };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
