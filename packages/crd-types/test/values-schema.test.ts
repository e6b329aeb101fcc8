import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { meshValuesSchema, renderValuesSchema } from '../scripts/values-schema.js';
import { MeshSpec } from '../src/index.js';

const chart = fileURLToPath(new URL('../../../charts/wirekube/', import.meta.url));
const schemaText = readFileSync(`${chart}values.schema.json`, 'utf8');

describe('charts/wirekube/values.schema.json', () => {
  it('is byte-identical to its regenerated self (run `npm run generate -w @wirekube/crd-types`)', () => {
    expect(schemaText).toBe(renderValuesSchema(schemaText));
  });

  it('types values.mesh with exactly the MeshSpec fields', () => {
    const mesh = meshValuesSchema() as { properties: Record<string, unknown>; additionalProperties: boolean };
    expect(Object.keys(mesh.properties).sort()).toEqual(Object.keys(MeshSpec.properties).sort());
    expect(mesh.additionalProperties).toBe(false);
  });

  it('has a schema entry for every key of values.yaml, and values.yaml a key for every schema entry', () => {
    type Node = { properties?: Record<string, Node>; type?: string | string[] };
    const values = parse(readFileSync(`${chart}values.yaml`, 'utf8')) as Record<string, unknown>;
    const schema = JSON.parse(schemaText) as Node;
    const missing: string[] = [];
    const walk = (value: unknown, node: Node | undefined, path: string) => {
      if (!value || typeof value !== 'object' || Array.isArray(value) || !node?.properties) return;
      for (const [key, child] of Object.entries(value)) {
        const childNode = node.properties[key];
        if (!childNode) missing.push(`${path}${key}`);
        else walk(child, childNode, `${path}${key}.`);
      }
    };
    walk(values, schema, '');
    expect(missing, 'values without a schema entry').toEqual([]);
    const unused = Object.keys(schema.properties ?? {}).filter((key) => !(key in values));
    expect(unused, 'schema entries that values.yaml does not set').toEqual([]);
  });

  it('documents every value of values.yaml with a comment', () => {
    // A value is a key whose schema has no named properties (a leaf, a list or a free-form map such as
    // resources); it needs a comment line right above it. Keys inside a free-form map are its data.
    type Node = { properties?: Record<string, Node> };
    const schema = JSON.parse(schemaText) as Node;
    const lines = readFileSync(`${chart}values.yaml`, 'utf8').split('\n');
    const stack: { indent: number; node: Node | undefined }[] = [{ indent: -1, node: schema }];
    const undocumented: string[] = [];
    lines.forEach((line, index) => {
      const match = /^(\s*)([A-Za-z][\w.-]*):/.exec(line);
      if (!match) return;
      const indent = match[1]?.length ?? 0;
      while ((stack.at(-1)?.indent ?? -1) >= indent) stack.pop();
      const parent = stack.at(-1)?.node;
      if (!parent?.properties) return; // data inside a free-form value
      const node = parent.properties[match[2] ?? ''];
      stack.push({ indent, node });
      if (node?.properties) return; // a group: its values carry the comments
      if (!lines[index - 1]?.trim().startsWith('#')) undocumented.push(`line ${index + 1}: ${line.trim()}`);
    });
    expect(undocumented).toEqual([]);
  });
});
