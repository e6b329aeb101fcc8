import type { KindName } from '../kinds.js';
import { type PlainObject, seedExample } from './examples.js';

/**
 * One input that breaks one stated constraint, and the field an error must name. Used by the unit tests
 * (local validation) and by the lab tests (the real API server) so both are held to the same table.
 */
export interface Violation {
  name: string;
  kind: KindName;
  object: PlainObject;
  /** The field the error must name, in Kubernetes notation. */
  field: string;
  /** Status fields can only be written through the status subresource. */
  subresource?: 'status';
}

const DELETE = Symbol('delete');

/** Copy of the seed example with `path` (dotted, numeric segments index arrays) set to `value` or deleted. */
function variant(kind: KindName, path: string, value: unknown): PlainObject {
  const object = seedExample(kind);
  const segments = path.split('.');
  let node: PlainObject = object;
  for (const segment of segments.slice(0, -1)) {
    node[segment] ??= {};
    node = node[segment] as PlainObject;
  }
  const last = segments[segments.length - 1]!;
  if (value === DELETE) delete node[last];
  else node[last] = value;
  return object;
}

function spec(kind: KindName, name: string, path: string, value: unknown, field?: string): Violation {
  return {
    name,
    kind,
    object: variant(kind, `spec.${path}`, value),
    field: field ?? `spec.${path.replace(/\.(\d+)(?=\.|$)/g, '[$1]')}`,
  };
}

function status(kind: KindName, name: string, path: string, value: unknown, field?: string): Violation {
  return {
    ...spec(kind, name, path, value, field),
    object: variant(kind, `status.${path}`, value),
    field: field ?? `status.${path}`,
    subresource: 'status',
  };
}

export const VIOLATIONS: readonly Violation[] = [
  // WireKubeMesh
  spec('WireKubeMesh', 'listenPort below 1', 'listenPort', 0),
  spec('WireKubeMesh', 'listenPort above 65535', 'listenPort', 70000),
  spec('WireKubeMesh', 'listenPort not an integer', 'listenPort', 'fifty'),
  spec('WireKubeMesh', 'interfaceName longer than IFNAMSIZ', 'interfaceName', 'wire_kube_far_too_long'),
  spec('WireKubeMesh', 'interfaceName with a slash', 'interfaceName', 'wire/kube'),
  spec('WireKubeMesh', 'mtu below 576', 'mtu', 500),
  spec('WireKubeMesh', 'mtu above 9000', 'mtu', 9001),
  spec('WireKubeMesh', 'fewer than 2 stunServers', 'stunServers', ['stun.example.net:3478']),
  spec(
    'WireKubeMesh',
    'stunServer without a port',
    'stunServers',
    ['stun.example.net', 'stun2.example.net:3478'],
    'spec.stunServers[0]',
  ),
  spec('WireKubeMesh', 'unknown relay.mode', 'relay.mode', 'sometimes'),
  spec('WireKubeMesh', 'unknown relay.provider', 'relay.provider', 'cloud'),
  spec('WireKubeMesh', 'handshakeTimeoutSeconds below 1', 'relay.handshakeTimeoutSeconds', 0),
  spec('WireKubeMesh', 'directRetryIntervalSeconds below 1', 'relay.directRetryIntervalSeconds', 0),
  spec('WireKubeMesh', 'external.endpoint not host:port', 'relay.external.endpoint', 'relay.example.com'),
  spec('WireKubeMesh', 'external.transport not tcp', 'relay.external.transport', 'udp'),
  {
    name: 'provider external without external.endpoint',
    kind: 'WireKubeMesh',
    object: variant('WireKubeMesh', 'spec.relay', {
      mode: 'auto',
      provider: 'external',
      external: { transport: 'tcp' },
    }),
    field: 'spec.relay.external.endpoint',
  },
  {
    name: 'provider external without an external block',
    kind: 'WireKubeMesh',
    object: variant('WireKubeMesh', 'spec.relay', { provider: 'external' }),
    field: 'spec.relay.external.endpoint',
  },
  spec('WireKubeMesh', 'managed.replicas below 1', 'relay.managed.replicas', 0),
  spec('WireKubeMesh', 'unknown managed.serviceType', 'relay.managed.serviceType', 'ExternalName'),
  spec('WireKubeMesh', 'managed.port above 65535', 'relay.managed.port', 65536),
  // WireKubePeer
  spec('WireKubePeer', 'publicKey missing', 'publicKey', DELETE),
  spec('WireKubePeer', 'publicKey empty', 'publicKey', ''),
  spec('WireKubePeer', 'endpoint without a port', 'endpoint', '203.0.113.5'),
  spec('WireKubePeer', 'endpoint a DNS name (not resolved)', 'endpoint', 'node1.example.com:51820'),
  spec('WireKubePeer', 'endpoint an IPv6 address without brackets', 'endpoint', '2001:db8::5:51820'),
  spec('WireKubePeer', 'allowedIPs entry not a CIDR', 'allowedIPs', ['10.0.0.5'], 'spec.allowedIPs[0]'),
  spec('WireKubePeer', 'allowedIPs prefix too long', 'allowedIPs', ['10.0.0.5/33'], 'spec.allowedIPs[0]'),
  spec('WireKubePeer', 'persistentKeepalive negative', 'persistentKeepalive', -1),
  status('WireKubePeer', 'unknown natType', 'natType', 'full-cone'),
  status('WireKubePeer', 'unknown transportMode', 'transportMode', 'tunnel'),
  status(
    'WireKubePeer',
    'unknown peerTransports value',
    'peerTransports',
    { 'node-a': 'carrier-pigeon' },
    'status.peerTransports.node-a',
  ),
  status('WireKubePeer', 'unknown endpointDiscoveryMethod', 'endpointDiscoveryMethod', 'guess'),
  status('WireKubePeer', 'lastHandshake not a date-time', 'lastHandshake', 'yesterday'),
  // WireKubeGateway
  spec('WireKubeGateway', 'peerRefs missing', 'peerRefs', DELETE),
  spec('WireKubeGateway', 'peerRefs empty', 'peerRefs', []),
  spec('WireKubeGateway', 'routes missing', 'routes', DELETE),
  spec('WireKubeGateway', 'routes empty', 'routes', []),
  spec(
    'WireKubeGateway',
    'route cidr not matching the pattern',
    'routes',
    [{ cidr: '172.20.0.0' }],
    'spec.routes[0].cidr',
  ),
  spec(
    'WireKubeGateway',
    'route cidr missing',
    'routes',
    [{ description: 'no cidr' }],
    'spec.routes[0].cidr',
  ),
  spec('WireKubeGateway', 'snat.enabled missing', 'snat', { sourceIP: '' }, 'spec.snat.enabled'),
  spec('WireKubeGateway', 'snat.sourceIP not an address', 'snat.sourceIP', 'gateway'),
  spec(
    'WireKubeGateway',
    'healthCheck.enabled missing',
    'healthCheck',
    { target: '172.20.1.254:443' },
    'spec.healthCheck.enabled',
  ),
  spec(
    'WireKubeGateway',
    'healthCheck.target missing',
    'healthCheck',
    { enabled: true },
    'spec.healthCheck.target',
  ),
  spec('WireKubeGateway', 'healthCheck.intervalSeconds below 5', 'healthCheck.intervalSeconds', 4),
  spec('WireKubeGateway', 'healthCheck.timeoutSeconds below 1', 'healthCheck.timeoutSeconds', 0),
  spec('WireKubeGateway', 'healthCheck.failureThreshold below 1', 'healthCheck.failureThreshold', 0),
  status(
    'WireKubeGateway',
    'unknown peerHealth value',
    'peerHealth',
    { 'node-b1': 'sick' },
    'status.peerHealth.node-b1',
  ),
  status('WireKubeGateway', 'routesInjected negative', 'routesInjected', -1),
];
