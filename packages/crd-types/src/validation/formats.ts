import { isIP } from 'node:net';
import { FormatRegistry } from '@sinclair/typebox';

/** `addr/prefix` with a prefix that fits the address family, as Kubernetes' `cidr` format accepts. */
export function isCidr(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash < 0) return false;
  const family = isIP(value.slice(0, slash));
  const prefixText = value.slice(slash + 1);
  if (family === 0 || !/^[0-9]{1,3}$/.test(prefixText)) return false;
  return Number(prefixText) <= (family === 4 ? 32 : 128);
}

/** RFC 3339 date-time, the wire form of metav1.Time. */
export function isDateTime(value: string): boolean {
  return (
    /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(value) &&
    !Number.isNaN(Date.parse(value))
  );
}

let registered = false;

/** Teaches TypeBox the string formats the schemas use (TypeBox validates no format by default). */
export function registerFormats(): void {
  if (registered) return;
  FormatRegistry.Set('cidr', isCidr);
  FormatRegistry.Set('date-time', isDateTime);
  registered = true;
}
