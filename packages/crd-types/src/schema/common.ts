import { type SchemaOptions, type TLiteral, type TUnion, Type } from '@sinclair/typebox';

/**
 * A cross-field rule, written once in CEL. The API server enforces it through `x-kubernetes-validations` in the
 * CRD; {@link validate} evaluates the very same expression locally, so there is no second copy to drift.
 */
export interface CelRule {
  rule: string;
  message: string;
  /** Relative JSON path of the field the error should name, e.g. `.external.endpoint`. */
  fieldPath?: string;
  reason?: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueDuplicate';
}

export const CEL_RULES_KEY = 'x-kubernetes-validations';

export function celRules(rules: CelRule[]): SchemaOptions {
  return { [CEL_RULES_KEY]: rules };
}

/** A closed set of strings; rendered as a Kubernetes `enum`, typed as a union of literals. */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: SchemaOptions = {},
): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );
}

/** `host:port` where host is an IPv4 address, a bracketed IPv6 address or a DNS name. */
export const HOST_PORT_PATTERN =
  '^(\\[[0-9A-Fa-f:.]+\\]|([0-9]{1,3}\\.){3}[0-9]{1,3}|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):[0-9]{1,5}$';

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';

/**
 * `ip:port` where ip is an IPv4 literal or a bracketed IPv6 literal — no DNS name. Written for both RE2 (the
 * API server's CEL) and JavaScript (local validation): no lookaround.
 */
export const IP_PORT_REGEX = `^((${OCTET}[.]){3}${OCTET}|\\[[0-9A-Fa-f:.]+\\]):[0-9]{1,5}$`;

/** A CEL single-quoted string literal of `text` (CEL, unlike a regex, has no `\[` escape: backslashes double). */
export function celString(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** IPv4 CIDR as the seed states it for gateway routes. */
export const IPV4_CIDR_PATTERN = '^([0-9]{1,3}\\.){3}[0-9]{1,3}/[0-9]{1,2}$';

export const Port = (description: string, defaultValue?: number) =>
  Type.Integer({
    minimum: 1,
    maximum: 65535,
    description,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  });

export const Timestamp = (description: string) => Type.String({ format: 'date-time', description });

/** metav1.Condition, as Kubernetes API conventions define it. */
export const Condition = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 316, description: 'Type of condition, e.g. Ready.' }),
  status: StringEnum(['True', 'False', 'Unknown'] as const, { description: 'Status of the condition.' }),
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  lastTransitionTime: Timestamp('Last time the condition changed status.'),
  reason: Type.String({ maxLength: 1024, description: 'Machine-readable CamelCase reason.' }),
  message: Type.String({ maxLength: 32768, description: 'Human-readable detail.' }),
});
