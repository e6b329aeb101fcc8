import type { TSchema } from '@sinclair/typebox';

/** A JSON Schema node as Kubernetes' structural OpenAPI v3 subset accepts it. */
export type KubeSchema = { [key: string]: unknown };

// Keys TypeBox emits that Kubernetes rejects or that carry no meaning in a CRD.
const DROPPED_KEYS = new Set([
  '$id',
  '$schema',
  '$ref',
  'additionalProperties',
  'patternProperties',
  'anyOf',
  'const',
]);

/**
 * Turns a TypeBox schema into a Kubernetes structural schema: unions of string literals become `enum`,
 * records become `additionalProperties`, TypeBox's own markers (symbols, `$id`) disappear. Every other keyword
 * (type, pattern, format, min/max, default, description, x-kubernetes-*) passes through unchanged.
 */
export function toKubernetesSchema(schema: TSchema): KubeSchema {
  return convert(JSON.parse(JSON.stringify(schema)) as KubeSchema);
}

// Keys first in this order, so the YAML reads like hand-written CRDs: what it is, then what it means.
const LEADING_KEYS = ['type', 'format', 'enum', 'description', 'default'];

function convert(node: KubeSchema): KubeSchema {
  const out: KubeSchema = {};
  for (const key of LEADING_KEYS) if (key in node && !DROPPED_KEYS.has(key)) out[key] = node[key];
  const literals = literalUnion(node);
  if (literals) {
    out['type'] = 'string';
    out['enum'] = literals;
  }
  if ('const' in node) {
    out['type'] = typeof node['const'];
    out['enum'] = [node['const']];
  }
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED_KEYS.has(key)) continue;
    if (key === 'properties') {
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, KubeSchema>).map(([name, child]) => [name, convert(child)]),
      );
    } else if (key === 'items') {
      out[key] = convert(value as KubeSchema);
    } else {
      out[key] = value;
    }
  }
  const valueSchema = recordValueSchema(node);
  if (valueSchema) out['additionalProperties'] = convert(valueSchema);
  if (node['anyOf'] && !literals) {
    throw new Error(`unsupported union in CRD schema: ${JSON.stringify(node['anyOf'])}`);
  }
  return out;
}

function literalUnion(node: KubeSchema): string[] | undefined {
  const anyOf = node['anyOf'] as KubeSchema[] | undefined;
  if (!anyOf?.every((s) => typeof s['const'] === 'string')) return undefined;
  return anyOf.map((s) => s['const'] as string);
}

function recordValueSchema(node: KubeSchema): KubeSchema | undefined {
  const patterns = node['patternProperties'] as Record<string, KubeSchema> | undefined;
  if (patterns) {
    const values = Object.values(patterns);
    if (values.length !== 1) throw new Error('a record in a CRD schema must have exactly one value schema');
    return values[0];
  }
  const additional = node['additionalProperties'];
  return typeof additional === 'object' && additional !== null ? (additional as KubeSchema) : undefined;
}
