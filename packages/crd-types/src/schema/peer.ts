import { type Static, Type } from '@sinclair/typebox';
import { celRules, celString, IP_PORT_REGEX, StringEnum, Timestamp } from './common.js';

export const NAT_TYPES = ['cone', 'symmetric', ''] as const;
export const TRANSPORT_MODES = ['direct', 'relay', 'mixed'] as const;
export const PEER_TRANSPORTS = ['direct', 'relay'] as const;
export const ENDPOINT_DISCOVERY_METHODS = [
  'stun',
  'annotation',
  'ipv6',
  'aws-imds',
  'upnp',
  'internal',
] as const;

export const PeerSpec = Type.Object({
  // Only non-empty here: the seed's own example is not a real key, and a malformed key must not make the API
  // server reject the object. Agents check keys and skip a bad peer with an Event.
  publicKey: Type.String({ minLength: 1, description: 'Base64-encoded WireGuard public key.' }),
  endpoint: Type.Optional(
    Type.String({
      // A CEL rule rather than a pattern, so the rejection says why in words; maxLength bounds its cost.
      maxLength: 64,
      description:
        'Public endpoint (ip:port) discovered by the agent. For symmetric NAT nodes, the STUN-discovered public IP with the configured listen port. An IPv4 address and port (203.0.113.5:51820) or a bracketed IPv6 address and port ([2001:db8::5]:51820); DNS names are rejected, not resolved: WireGuard takes addresses, and agents must reach peers before cluster DNS is reachable.',
      ...celRules([
        {
          rule: `self.matches(${celString(IP_PORT_REGEX)})`,
          message:
            'endpoint must be an IP address and port (203.0.113.5:51820 or [2001:db8::5]:51820); DNS names are not resolved',
          reason: 'FieldValueInvalid',
        },
      ]),
    }),
  ),
  allowedIPs: Type.Optional(
    Type.Array(Type.String({ format: 'cidr' }), {
      description:
        'WireGuard AllowedIPs (typically [nodeIP/32]). When empty, the agent enters passive mode: no routes or WireGuard peer config for this node. User-managed.',
    }),
  ),
  persistentKeepalive: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 65535,
      description: 'WireGuard PersistentKeepalive interval (seconds).',
    }),
  ),
});

export const PeerStatus = Type.Object({
  connected: Type.Optional(
    Type.Boolean({ description: 'Whether a recent WireGuard handshake has been observed.' }),
  ),
  natType: Type.Optional(
    StringEnum(NAT_TYPES, {
      description: 'Detected NAT mapping behaviour: cone, symmetric, or empty (undetermined).',
    }),
  ),
  transportMode: Type.Optional(
    StringEnum(TRANSPORT_MODES, {
      description: 'Aggregate transport state derived from peerTransports: direct, relay, or mixed.',
    }),
  ),
  peerTransports: Type.Optional(
    Type.Record(Type.String(), StringEnum(PEER_TRANSPORTS), {
      description: 'Per-peer transport mode, keyed by WireKubePeer name.',
    }),
  ),
  endpointDiscoveryMethod: Type.Optional(
    StringEnum(ENDPOINT_DISCOVERY_METHODS, { description: 'How the endpoint was discovered.' }),
  ),
  lastHandshake: Type.Optional(Timestamp('Timestamp of the last successful WireGuard handshake.')),
});

export type NatType = (typeof NAT_TYPES)[number];
export type TransportMode = (typeof TRANSPORT_MODES)[number];
export type PeerTransport = (typeof PEER_TRANSPORTS)[number];
export type EndpointDiscoveryMethod = (typeof ENDPOINT_DISCOVERY_METHODS)[number];
export type WireKubePeerSpec = Static<typeof PeerSpec>;
export type WireKubePeerStatus = Static<typeof PeerStatus>;
