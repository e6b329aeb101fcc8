import { type Static, Type } from '@sinclair/typebox';
import { Condition, IPV4_CIDR_PATTERN, StringEnum, Timestamp } from './common.js';

export const GATEWAY_PEER_HEALTH = ['healthy', 'unhealthy'] as const;

export const GatewayRoute = Type.Object({
  cidr: Type.String({ pattern: IPV4_CIDR_PATTERN, description: 'Network CIDR (e.g. 172.20.0.0/16).' }),
  description: Type.Optional(Type.String({ description: 'Human-readable label.' })),
});

export const GatewaySNAT = Type.Object({
  enabled: Type.Boolean({ description: 'Activates iptables MASQUERADE for forwarded traffic.' }),
  sourceIP: Type.Optional(
    Type.String({
      pattern: '^$|^([0-9]{1,3}\\.){3}[0-9]{1,3}$',
      description: "Override SNAT source address. Empty: the gateway's first AllowedIP.",
    }),
  ),
});

export const GatewayHealthCheck = Type.Object({
  enabled: Type.Boolean({ description: 'Activates periodic health checking.' }),
  target: Type.String({
    minLength: 1,
    pattern: '^[^\\s]+$',
    description: 'Probe address. TCP connect when a port is specified, ICMP otherwise.',
  }),
  intervalSeconds: Type.Optional(Type.Integer({ minimum: 5, default: 30, description: 'Probe interval.' })),
  timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, default: 5, description: 'Probe timeout.' })),
  failureThreshold: Type.Optional(
    Type.Integer({ minimum: 1, default: 3, description: 'Consecutive failures before marking unhealthy.' }),
  ),
});

export const GatewaySpec = Type.Object({
  peerRefs: Type.Array(Type.String({ minLength: 1 }), {
    minItems: 1,
    description:
      'Ordered list of WireKubePeer names serving as gateway. The first healthy peer is elected active (HA failover).',
  }),
  clientRefs: Type.Optional(
    Type.Array(Type.String({ minLength: 1 }), {
      description:
        'WireKubePeer names that route through this gateway. Empty: all mesh peers except gateway peers and same-CIDR peers.',
    }),
  ),
  routes: Type.Array(GatewayRoute, {
    minItems: 1,
    description: "CIDR ranges reachable through the gateway, injected into the active peer's AllowedIPs.",
  }),
  snat: Type.Optional(GatewaySNAT),
  healthCheck: Type.Optional(GatewayHealthCheck),
});

export const GatewayStatus = Type.Object({
  activePeer: Type.Optional(
    Type.String({ description: 'WireKubePeer currently serving as active gateway.' }),
  ),
  ready: Type.Optional(Type.Boolean({ description: 'Gateway is healthy and forwarding traffic.' })),
  routesInjected: Type.Optional(
    Type.Integer({ minimum: 0, description: 'Number of CIDR routes injected into the active peer.' }),
  ),
  peerHealth: Type.Optional(
    Type.Record(Type.String(), StringEnum(GATEWAY_PEER_HEALTH), {
      description: 'Per-peerRef health status.',
    }),
  ),
  lastHealthCheck: Type.Optional(Timestamp('Timestamp of the last health probe.')),
  conditions: Type.Optional(
    Type.Array(Condition, { description: 'Standard Kubernetes conditions (Ready).' }),
  ),
});

export type GatewayPeerHealth = (typeof GATEWAY_PEER_HEALTH)[number];
export type WireKubeGatewaySpec = Static<typeof GatewaySpec>;
export type WireKubeGatewayStatus = Static<typeof GatewayStatus>;
