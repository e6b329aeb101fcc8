import { isWireGuardKey } from '@wirekube/netlink/net';

/** A WireGuard key (base64 of exactly 32 bytes), whatever the object handed us. */
export function isKey(key: unknown): key is string {
  return isWireGuardKey(key);
}
