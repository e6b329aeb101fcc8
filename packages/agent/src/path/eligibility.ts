import type { NatType } from '@wirekube/crd-types';
import type { Reachability } from './types.js';

/**
 * A node is public when its published endpoint is one of its own addresses (nothing translates it); otherwise
 * its published NAT type says how its router maps.
 */
export function reachability(
  natType: NatType | undefined,
  endpointIP?: string,
  ownIPs: readonly string[] = [],
): Reachability {
  if (endpointIP && ownIPs.includes(endpointIP)) return 'public';
  if (natType === 'cone' || natType === 'symmetric') return natType;
  return 'unknown';
}

/**
 * Whether a direct path can exist between two nodes. Linux-style NATs filter by address and port (LAB-FACTS), so
 * a symmetric NAT's fresh port per destination can never be met from behind another NAT; a public side, or a
 * shared LAN (peers talk by LAN address), always can. Unknown is given the benefit of the doubt.
 */
export function directPossible(local: Reachability, remote: Reachability, sameLan: boolean): boolean {
  if (sameLan || local === 'public' || remote === 'public') return true;
  if (local === 'symmetric') return remote === 'unknown';
  if (remote === 'symmetric') return local === 'unknown';
  return true;
}
