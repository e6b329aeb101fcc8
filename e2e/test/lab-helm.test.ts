import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { run } from '../src/exec/run.js';
import { toolPath } from '../src/tools.js';

const chart = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'charts', 'wirekube');
// Helm keeps caches and repository config under $HOME; a throwaway home keeps the test from touching it.
const home = mkdtempSync(join(tmpdir(), 'wirekube-helm-'));
const env = { ...process.env, HELM_CACHE_HOME: home, HELM_CONFIG_HOME: home, HELM_DATA_HOME: home };

describe('the chart, with the lab-built helm', () => {
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('helm lint charts/wirekube succeeds', async () => {
    const { stdout } = await run([toolPath('helm'), 'lint', chart], { env });
    expect(stdout).toContain('0 chart(s) failed');
  });

  it('helm template charts/wirekube succeeds and renders the CRDs', async () => {
    const { stdout } = await run([toolPath('helm'), 'template', 'wirekube', chart, '--include-crds'], {
      env,
    });
    const kinds = parseAllDocuments(stdout)
      .map((document) => document.toJS() as { kind?: string; metadata?: { name?: string } } | null)
      .filter((object) => object?.kind === 'CustomResourceDefinition')
      .map((object) => object?.metadata?.name)
      .sort();
    expect(kinds).toEqual([
      'wirekubegateways.wirekube.io',
      'wirekubemeshes.wirekube.io',
      'wirekubepeers.wirekube.io',
    ]);
  });
});
