// Regenerates the `mesh` part of charts/wirekube/values.schema.json from MeshSpec. A test fails when it drifts.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderValuesSchema } from './values-schema.js';

const file = fileURLToPath(new URL('../../../charts/wirekube/values.schema.json', import.meta.url));
writeFileSync(file, renderValuesSchema(readFileSync(file, 'utf8')));
console.log(`wrote ${file}`);
