// Writes the CRD manifests of charts/wirekube/crds from the schemas. A test fails when the files drift.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderAllCrds } from '../src/index.js';

const outDir = fileURLToPath(new URL('../../../charts/wirekube/crds/', import.meta.url));
mkdirSync(outDir, { recursive: true });
for (const [file, content] of renderAllCrds()) {
  writeFileSync(join(outDir, file), content);
  console.log(`wrote ${join(outDir, file)}`);
}
