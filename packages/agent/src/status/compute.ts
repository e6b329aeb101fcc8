import type {
  EndpointDiscoveryMethod,
  NatType,
  PeerTransport,
  TransportMode,
  WireKubePeerStatus,
} from '@wirekube/crd-types';
import type { DesiredNode, ObservedPeer } from '../plan/types.js';

export interface StatusInput {
  desired: DesiredNode;
  observed: ReadonlyMap<string, ObservedPeer>;
  natType: NatType;
  endpointDiscoveryMethod?: EndpointDiscoveryMethod;
  /**
   * The path each peer really uses (path selection reads it from WireGuard). When given, peers not listed (no
   * fresh handshake on either path) are left out of peerTransports; without it every peer counts as direct.
   */
  transports?: ReadonlyMap<string, PeerTransport>;
}

/** The own WireKubePeer's status, derived from the plan and WireGuard's counters. Pure. */
export function computeStatus(input: StatusInput): WireKubePeerStatus {
  const peers = input.desired.device.peers;
  const peerTransports: Record<string, PeerTransport> = {};
  for (const peer of peers) {
    const transport = input.transports ? input.transports.get(peer.name) : 'direct';
    if (transport) peerTransports[peer.name] = transport;
  }
  const handshakes = peers
    .map((p) => input.observed.get(p.publicKey)?.lastHandshakeMs ?? 0)
    .filter((ms) => ms > 0);
  const status: WireKubePeerStatus = {
    connected: input.desired.connected.length > 0,
    natType: input.natType,
    peerTransports,
  };
  const mode = aggregateTransport(Object.values(peerTransports));
  if (mode) status.transportMode = mode;
  if (input.endpointDiscoveryMethod) status.endpointDiscoveryMethod = input.endpointDiscoveryMethod;
  if (handshakes.length > 0)
    status.lastHandshake = new Date(Math.max(...handshakes)).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return status;
}

/** direct / relay when every peer agrees, mixed otherwise; undefined without peers. */
export function aggregateTransport(values: readonly PeerTransport[]): TransportMode | undefined {
  if (values.length === 0) return undefined;
  if (values.every((v) => v === 'direct')) return 'direct';
  if (values.every((v) => v === 'relay')) return 'relay';
  return 'mixed';
}
