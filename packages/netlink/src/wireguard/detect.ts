import { randomBytes } from 'node:crypto';
import type { Links } from '../rtnl/links.js';
import type { GenlTransport } from './kernel/genl.js';
import { WG_GENL_NAME } from './kernel/uapi.js';
import type { WireGuardBackendKind } from './types.js';

export interface BackendDetection {
  kind: WireGuardBackendKind;
  /** Why, for the caller to log and report. */
  reason: string;
}

/**
 * Kernel when the `wireguard` genl family exists, or appears after creating a probe link (which loads the
 * module on demand, as `ip link add type wireguard` does); userspace otherwise.
 */
export async function detectWireGuardBackend(
  genl: GenlTransport,
  links: Links,
  options: { probeLink?: boolean } = {},
): Promise<BackendDetection> {
  try {
    await genl.familyId(WG_GENL_NAME);
    return { kind: 'kernel', reason: 'generic netlink family "wireguard" is registered' };
  } catch {
    // Not registered yet: the module may still be loadable.
  }
  if (options.probeLink ?? true) {
    const probe = `wkprobe${randomBytes(3).toString('hex')}`;
    try {
      await links.create(probe, 'wireguard');
      await links.delete(probe);
      return { kind: 'kernel', reason: 'link kind "wireguard" is available' };
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'error';
      return {
        kind: 'userspace',
        reason: `no kernel WireGuard (genl family absent, link kind refused: ${code})`,
      };
    }
  }
  return { kind: 'userspace', reason: 'generic netlink family "wireguard" is absent' };
}
