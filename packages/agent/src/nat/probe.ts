import type { NatType } from '@wirekube/crd-types';
import { StunPortInUseError, type StunQueryOptions } from '../stun/binding.js';
import { classifyNat, type StunObservation } from './classify.js';

export type StunQuery = (servers: readonly string[], options: StunQueryOptions) => Promise<StunObservation[]>;

export interface NatProbeResult {
  observations: StunObservation[];
  /** The WireGuard port was held (by the preserved interface): these answers are not WireGuard's mapping. */
  portInUse: boolean;
  natType: NatType;
}

/**
 * One round of STUN: from the WireGuard port when it is free (so the mapping is the one peers will use), from
 * an ephemeral port when the interface holds it. Mapping behaviour is a property of the NAT, so the NAT type
 * is still right from another port; the endpoint is not (the caller keeps the published one, seed).
 */
export async function probeNat(
  query: StunQuery,
  servers: readonly string[],
  listenPort: number,
  portHeld: boolean,
): Promise<NatProbeResult> {
  if (servers.length === 0) return { observations: [], portInUse: portHeld, natType: '' };
  let portInUse = portHeld;
  let observations: StunObservation[] | undefined;
  if (!portHeld) {
    try {
      observations = await query(servers, { localPort: listenPort });
    } catch (error) {
      if (!(error instanceof StunPortInUseError)) throw error;
      portInUse = true;
    }
  }
  observations ??= await query(servers, { localPort: 0 });
  return { observations, portInUse, natType: classifyNat(observations) };
}
