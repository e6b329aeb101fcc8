import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

/** Request options for client-node's patch calls: JSON merge patch (RFC 7386) instead of its JSON-patch default. */
export function mergePatchOptions(): ReturnType<typeof setHeaderOptions> {
  return setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
}

type Json = Record<string, unknown>;

/**
 * The JSON merge patch (RFC 7386) that turns `previous` into `next`: changed and new keys with their value,
 * removed keys as `null` (a merge patch that only names current keys can never clear a field), nested objects
 * diffed key by key, arrays replaced whole. `undefined` when there is nothing to change.
 */
export function mergePatchFor(previous: object | undefined, next: object): object | undefined {
  const patch = diffObjects((previous ?? {}) as Json, next as Json);
  return patch && Object.keys(patch).length > 0 ? patch : undefined;
}

function diffObjects(previous: Json, next: Json): Json | undefined {
  const patch: Json = {};
  for (const [key, before] of Object.entries(previous)) {
    if (before !== undefined && next[key] === undefined) patch[key] = null;
  }
  for (const [key, after] of Object.entries(next)) {
    if (after === undefined) continue;
    const before = previous[key];
    if (isPlainObject(before) && isPlainObject(after)) {
      const nested = diffObjects(before, after);
      if (nested) patch[key] = nested;
    } else if (!sameJson(before, after)) {
      patch[key] = isPlainObject(after) ? withoutUndefined(after) : after;
    }
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function withoutUndefined(value: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    if (v !== undefined) out[k] = isPlainObject(v) ? withoutUndefined(v) : v;
  }
  return out;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) return diffObjects(a, b) === undefined;
  return false;
}
