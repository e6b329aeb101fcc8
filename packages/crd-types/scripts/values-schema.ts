// The `mesh` part of charts/wirekube/values.schema.json comes from the MeshSpec schema, so that the chart's values
// and the CRD cannot disagree on a field, a default or a bound. The rest of that file is written by hand; this
// replaces only `properties.mesh` and leaves everything else as it is.
import { MeshSpec, toKubernetesSchema } from '../src/index.js';

type Json = { [key: string]: unknown };

const DESCRIPTION =
  'The default WireKubeMesh spec; keys are the MeshSpec fields (generated from @wirekube/crd-types, do not edit).';

/** Objects with named properties reject unknown keys: a typo in values fails the install instead of vanishing. */
function closeObjects(node: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && value && typeof value === 'object') {
      out[key] = Object.fromEntries(
        Object.entries(value as Json).map(([k, v]) => [k, closeObjects(v as Json)]),
      );
    } else if (key === 'items' && value && typeof value === 'object' && !Array.isArray(value)) {
      out[key] = closeObjects(value as Json);
    } else {
      out[key] = value;
    }
  }
  if (out['type'] === 'object' && out['properties'] && !('additionalProperties' in out)) {
    out['additionalProperties'] = false;
  }
  return out;
}

/** The JSON Schema of values.mesh. */
export function meshValuesSchema(): Json {
  const schema = closeObjects(toKubernetesSchema(MeshSpec));
  return { ...schema, description: DESCRIPTION };
}

/** `current` (the file's text) with its `properties.mesh` regenerated, formatted as the file is. */
export function renderValuesSchema(current: string): string {
  const schema = JSON.parse(current) as Json;
  const properties = schema['properties'] as Json | undefined;
  if (!properties) throw new Error('values.schema.json: no top-level "properties"');
  properties['mesh'] = meshValuesSchema();
  return `${JSON.stringify(schema, null, 2)}\n`;
}
