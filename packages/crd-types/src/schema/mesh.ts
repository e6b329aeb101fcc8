import { type Static, Type } from '@sinclair/typebox';
import { DEFAULT_INTERFACE_NAME } from '../constants.js';
import { celRules, HOST_PORT_PATTERN, Port, StringEnum } from './common.js';

export const RELAY_MODES = ['auto', 'always', 'never'] as const;
export const RELAY_PROVIDERS = ['external', 'managed'] as const;
export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'] as const;

export const RelayExternal = Type.Object({
  endpoint: Type.Optional(
    Type.String({
      pattern: HOST_PORT_PATTERN,
      description: 'Relay server address (host:port). Required when provider is external.',
    }),
  ),
  transport: Type.Optional(
    StringEnum(['tcp'] as const, { default: 'tcp', description: 'Transport protocol (tcp).' }),
  ),
});

export const RelayManaged = Type.Object({
  replicas: Type.Optional(
    Type.Integer({ minimum: 1, default: 1, description: 'Number of relay pod replicas.' }),
  ),
  serviceType: Type.Optional(
    StringEnum(SERVICE_TYPES, { default: 'LoadBalancer', description: 'Kubernetes Service type.' }),
  ),
  port: Type.Optional(Port('Relay service port.', 3478)),
});

export const RelaySpec = Type.Object(
  {
    mode: Type.Optional(
      StringEnum(RELAY_MODES, {
        default: 'auto',
        description: 'auto: try direct first, fall back to relay. always: always relay. never: direct only.',
      }),
    ),
    provider: Type.Optional(
      StringEnum(RELAY_PROVIDERS, {
        description: 'external: user-provided relay. managed: deployed within the cluster.',
      }),
    ),
    handshakeTimeoutSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: 30,
        description: 'Seconds to wait for a direct handshake before activating the relay.',
      }),
    ),
    directRetryIntervalSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: 120,
        description: 'Seconds between attempts to upgrade a relayed peer back to direct P2P.',
      }),
    ),
    external: Type.Optional(RelayExternal),
    managed: Type.Optional(RelayManaged),
  },
  {
    default: {},
    description: 'Relay configuration for peers that cannot reach each other directly.',
    ...celRules([
      {
        rule: "!has(self.provider) || self.provider != 'external' || (has(self.external) && has(self.external.endpoint))",
        message: 'external.endpoint is required when provider is external',
        fieldPath: '.external.endpoint',
        reason: 'FieldValueRequired',
      },
    ]),
  },
);

export const MeshSpec = Type.Object({
  listenPort: Type.Optional(Port('WireGuard UDP listen port on each node.', 51820)),
  interfaceName: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 15,
      pattern: '^[A-Za-z0-9_.-]+$',
      default: DEFAULT_INTERFACE_NAME,
      description: 'Name of the WireGuard network interface.',
    }),
  ),
  mtu: Type.Optional(
    Type.Integer({
      minimum: 576,
      maximum: 9000,
      default: 1420,
      description:
        'Interface MTU. 1420 accounts for WireGuard overhead (40B IPv6 or 20B IPv4 + 8B UDP + 32B WG).',
    }),
  ),
  stunServers: Type.Optional(
    Type.Array(Type.String({ pattern: HOST_PORT_PATTERN }), {
      minItems: 2,
      description:
        'STUN servers (host:port) for public endpoint discovery. Minimum 2: the agent compares mapped ports across servers to detect symmetric NAT (RFC 5780).',
    }),
  ),
  relay: Type.Optional(RelaySpec),
});

export const MeshStatus = Type.Object({
  peerCount: Type.Optional(Type.Integer({ minimum: 0, description: 'WireKubePeers in the mesh.' })),
  connectedCount: Type.Optional(
    Type.Integer({ minimum: 0, description: 'WireKubePeers with a recent handshake.' }),
  ),
});

export type RelayMode = (typeof RELAY_MODES)[number];
export type RelayProvider = (typeof RELAY_PROVIDERS)[number];
export type WireKubeMeshSpec = Static<typeof MeshSpec>;
export type WireKubeMeshStatus = Static<typeof MeshStatus>;
export type WireKubeRelaySpec = Static<typeof RelaySpec>;
