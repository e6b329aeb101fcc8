import { HOST_PORT_PATTERN } from '@wirekube/crd-types';
import { isWireGuardKey } from '@wirekube/netlink';

/** A WireGuard key (base64 of exactly 32 bytes), whatever the object handed us. */
export function isKey(key: unknown): key is string {
  return typeof key === 'string' && isWireGuardKey(key);
}

const HOST_PORT = new RegExp(HOST_PORT_PATTERN);

/**
 * Splits `ip:port` / `[ipv6]:port`; undefined unless the host is a literal IP (WireGuard takes no DNS names, and
 * plan() must not resolve them).
 */
export function parseEndpoint(endpoint: string | undefined): { ip: string; port: number } | undefined {
  if (!endpoint || !HOST_PORT.test(endpoint)) return undefined;
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(endpoint);
  if (!match) return undefined;
  const ip = match[1]!;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return /^[0-9.]+$/.test(ip) || ip.includes(':') ? { ip, port } : undefined;
}
