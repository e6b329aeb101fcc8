import { evaluate } from '@marcbachmann/cel-js';
import { type TSchema, Type } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { API_VERSION } from '../constants.js';
import { KINDS, type KindName } from '../kinds.js';
import { CEL_RULES_KEY, type CelRule } from '../schema/common.js';
import { registerFormats } from './formats.js';

/** One problem with one field, named the way Kubernetes names it (`spec.relay.external.endpoint`). */
export interface FieldError {
  field: string;
  message: string;
}

/** Thrown by {@link assertValid}; carries every field error, not only the first. */
export class WireKubeValidationError extends Error {
  constructor(
    readonly kind: KindName,
    readonly objectName: string | undefined,
    readonly errors: FieldError[],
  ) {
    super(
      `${kind}${objectName ? ` "${objectName}"` : ''} is invalid: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`,
    );
    this.name = 'WireKubeValidationError';
  }
}

type Schema = TSchema & { [key: string]: unknown };

interface CompiledKind {
  root: Schema;
  check: TypeCheck<TSchema>;
}

const compiled = new Map<KindName, CompiledKind>();

function compiledKind(kind: KindName): CompiledKind {
  let entry = compiled.get(kind);
  if (!entry) {
    registerFormats();
    const def = KINDS[kind];
    const root = Type.Object({
      spec: def.specRequired ? def.spec : Type.Optional(def.spec),
      status: Type.Optional(def.status),
    }) as Schema;
    entry = { root, check: TypeCompiler.Compile(root) };
    compiled.set(kind, entry);
  }
  return entry;
}

const TOP_LEVEL_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

/**
 * Validates a whole object of a WireKube kind with every constraint the CRD carries: types, enums, patterns,
 * formats, bounds, required fields, unknown fields, and the CEL rules (evaluated from the same text the API
 * server runs). Returns all errors; an empty list means valid.
 */
export function validate(kind: KindName, object: unknown): FieldError[] {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    return [{ field: '<root>', message: `must be an object, got ${describe(object)}` }];
  }
  const errors: FieldError[] = [];
  const obj = object as Record<string, unknown>;
  if (obj['apiVersion'] !== undefined && obj['apiVersion'] !== API_VERSION) {
    errors.push({
      field: 'apiVersion',
      message: `Unsupported value: "${String(obj['apiVersion'])}": supported values: "${API_VERSION}"`,
    });
  }
  if (obj['kind'] !== undefined && obj['kind'] !== kind) {
    errors.push({
      field: 'kind',
      message: `Unsupported value: "${String(obj['kind'])}": supported values: "${kind}"`,
    });
  }
  for (const key of Object.keys(obj)) {
    if (!TOP_LEVEL_FIELDS.has(key)) errors.push({ field: key, message: 'unknown field' });
  }
  const { root, check } = compiledKind(kind);
  const body = { spec: obj['spec'], status: obj['status'] };
  const seen = new Set<string>();
  for (const error of check.Errors(body)) {
    const field = fieldPath(error.path);
    if (seen.has(field)) continue;
    seen.add(field);
    errors.push({ field, message: messageFor(error) });
  }
  walkRules(root, body, '', errors);
  // Sorted so that output (and the API server's, which sorts too) reads the same on every run.
  return errors.sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
}

/** Like {@link validate} but only for the spec. */
export function validateSpec(kind: KindName, spec: unknown): FieldError[] {
  return validate(kind, { spec });
}

export function assertValid(kind: KindName, object: unknown): void {
  const errors = validate(kind, object);
  if (errors.length > 0) {
    const name = (object as { metadata?: { name?: string } } | null)?.metadata?.name;
    throw new WireKubeValidationError(kind, name, errors);
  }
}

/** `/spec/stunServers/0` → `spec.stunServers[0]` */
function fieldPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    out += /^[0-9]+$/.test(segment) ? `[${segment}]` : `${out ? '.' : ''}${segment}`;
  }
  return out || '<root>';
}

function joinField(base: string, name: string): string {
  return base ? `${base}.${name}` : name;
}

function messageFor(error: ValueError): string {
  const schema = error.schema as Schema;
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'Required value';
    case ValueErrorType.Union: {
      const values = (schema['anyOf'] as Schema[] | undefined)?.map((s) => s['const']);
      return values?.every((v) => typeof v === 'string')
        ? `Unsupported value: ${JSON.stringify(error.value)}: supported values: ${values.map((v) => JSON.stringify(v)).join(', ')}`
        : error.message;
    }
    case ValueErrorType.ArrayMinItems:
      return `should have at least ${String(schema['minItems'])} items`;
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `should be greater than or equal to ${String(schema['minimum'])}`;
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return `should be less than or equal to ${String(schema['maximum'])}`;
    case ValueErrorType.StringPattern:
      return `${JSON.stringify(error.value)} should match '${String(schema['pattern'])}'`;
    case ValueErrorType.StringFormat:
      return `${JSON.stringify(error.value)} must be of type ${String(schema['format'])}`;
    case ValueErrorType.StringMinLength:
      return `should be at least ${String(schema['minLength'])} chars long`;
    case ValueErrorType.StringMaxLength:
      return `may not be more than ${String(schema['maxLength'])} chars long`;
    default:
      return `${error.message}, got ${describe(error.value)}`;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}

/**
 * Walks schema and value together to run the CEL rules and to report unknown fields (which the API server
 * prunes, or rejects under strict field validation: either way a typo must not pass silently).
 */
function walkRules(schema: Schema, value: unknown, field: string, errors: FieldError[]): void {
  if (value === undefined || value === null) return;
  for (const rule of (schema[CEL_RULES_KEY] as CelRule[] | undefined) ?? []) {
    if (!holds(rule, value)) {
      const target = rule.fieldPath ? rule.fieldPath.replace(/^\./, '') : '';
      errors.push({ field: target ? joinField(field, target) : field || '<root>', message: rule.message });
    }
  }
  const properties = schema['properties'] as Record<string, Schema> | undefined;
  if (properties && isPlainObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      const childSchema = properties[key];
      if (childSchema) walkRules(childSchema, child, joinField(field, key), errors);
      else errors.push({ field: joinField(field, key), message: 'unknown field' });
    }
  }
  const patterns = schema['patternProperties'] as Record<string, Schema> | undefined;
  const valueSchema = patterns ? Object.values(patterns)[0] : undefined;
  if (valueSchema && isPlainObject(value)) {
    for (const [key, child] of Object.entries(value))
      walkRules(valueSchema, child, joinField(field, key), errors);
  }
  const items = schema['items'] as Schema | undefined;
  if (items && Array.isArray(value)) {
    value.forEach((child, i) => {
      walkRules(items, child, `${field}[${i}]`, errors);
    });
  }
}

function holds(rule: CelRule, self: unknown): boolean {
  try {
    return evaluate(rule.rule, { self }) === true;
  } catch {
    // A value of the wrong shape makes CEL fail to evaluate; the structural errors already name that field.
    return true;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
