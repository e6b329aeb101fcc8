import type { EndpointDiscoveryMethod } from '@wirekube/crd-types';
import type { StunObservation } from '../nat/classify.js';

export interface Endpoint {
  /** `ip:port`, or `[ipv6]:port`. */
  endpoint: string;
  method: EndpointDiscoveryMethod;
  /**
   * The endpoint lapses unless discovered again within this many milliseconds (a UPnP mapping's lease):
   * the re-check comes no later than that, whatever its interval.
   */
  refreshWithinMs?: number;
}

/** What the agent knows about its node and its previous state when it looks for its public endpoint. */
export interface DiscoveryContext {
  listenPort: number;
  nodeAnnotations: Readonly<Record<string, string>>;
  /** Node status addresses (InternalIP, ExternalIP, ...), in the order the Node lists them. */
  nodeAddresses: ReadonlyArray<{ type: string; address: string }>;
  /** Addresses configured on this host's interfaces, WireGuard's own excluded. */
  hostAddresses: readonly string[];
  /** One round of STUN answers from the WireGuard port, or why there are none. */
  stun: { observations: readonly StunObservation[]; portInUse: boolean; natType: '' | 'cone' | 'symmetric' };
  /**
   * What the own WireKubePeer says now (or, when it was deleted, what this agent last published), for the
   * listen port in effect. A STUN endpoint is kept while the port is held and STUN cannot say better (seed).
   */
  previous?: Partial<Endpoint>;
}

/** One way of finding the endpoint. `undefined` means "not applicable here, try the next one". */
export interface EndpointSource {
  readonly method: EndpointDiscoveryMethod;
  discover(ctx: DiscoveryContext): Promise<Endpoint | undefined>;
}

export function formatEndpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
