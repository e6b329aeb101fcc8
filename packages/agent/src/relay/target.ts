import { isIP } from 'node:net';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import type { ResolvedMeshSpec } from '@wirekube/crd-types';

/** Where the relay is, and how it was found (for logs and Events). */
export interface RelayTarget {
  /** IP addresses or DNS names (public DNS: never cluster DNS, seed). */
  host: string;
  port: number;
  /**
   * True when every address the name resolves to is a replica of its own (an external headless name: a pool,
   * one connection each); false behind a load balancer, where a second connection would only replace the first.
   */
  pool: boolean;
  source: 'external' | 'external-ip' | 'load-balancer-ip' | 'load-balancer-hostname' | 'node-port';
}

/** The relay cannot be located from what the mesh and the Service say. `field` names what to fix. */
export class RelayTargetError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'RelayTargetError';
  }
}

/**
 * What the agent needs to look up before it can pick a target: nothing (no relay, or external), or the
 * managed relay's Service.
 */
export type RelayLookup =
  | { kind: 'none' }
  | { kind: 'external'; target: RelayTarget }
  | { kind: 'service'; namespace: string; name: string }
  | { kind: 'invalid'; error: RelayTargetError };

/** From the mesh spec alone. Mode never means no relay connection at all. */
export function relayLookup(
  mesh: ResolvedMeshSpec,
  service: { namespace: string; name: string },
): RelayLookup {
  const { relay } = mesh;
  if (relay.mode === 'never' || !relay.provider) return { kind: 'none' };
  if (relay.provider === 'managed') return { kind: 'service', ...service };
  try {
    return { kind: 'external', target: externalTarget(relay.external?.endpoint) };
  } catch (error) {
    return { kind: 'invalid', error: error as RelayTargetError };
  }
}

/** `spec.relay.external.endpoint`: host:port, [v6]:port. A name with several addresses is a pool (seed). */
export function externalTarget(endpoint: string | undefined): RelayTarget {
  const field = 'spec.relay.external.endpoint';
  if (!endpoint) throw new RelayTargetError(`${field} is required when provider is external`, field);
  const { host, port } = splitHostPort(endpoint, field);
  return { host, port, pool: isIP(host) === 0, source: 'external' };
}

/**
 * The managed relay's externally reachable address from its Service, in the seed's order: ExternalIP, then
 * LoadBalancer ingress (IP, or hostname), then NodePort on a node address. Never the ClusterIP and never the
 * cluster DNS name: a NAT'd node cannot reach either before the tunnel the relay is for exists (seed).
 */
export function managedTarget(service: V1Service | undefined, nodes: readonly V1Node[]): RelayTarget {
  if (!service) throw new RelayTargetError('the relay Service does not exist', 'service');
  const name = `${service.metadata?.namespace ?? ''}/${service.metadata?.name ?? ''}`;
  const ports = (service.spec?.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP');
  const port = ports.find((p) => p.name === 'relay') ?? ports[0];
  if (!port) throw new RelayTargetError(`Service ${name} has no TCP port`, 'spec.ports');
  const externalIP = service.spec?.externalIPs?.find((ip) => isIP(ip) !== 0);
  if (externalIP) return { host: externalIP, port: port.port, pool: false, source: 'external-ip' };
  for (const ingress of service.status?.loadBalancer?.ingress ?? []) {
    if (ingress.ip) return { host: ingress.ip, port: port.port, pool: false, source: 'load-balancer-ip' };
    if (ingress.hostname)
      return { host: ingress.hostname, port: port.port, pool: false, source: 'load-balancer-hostname' };
  }
  if (port.nodePort) {
    const address = nodeAddress(nodes);
    if (address) return { host: address, port: port.nodePort, pool: false, source: 'node-port' };
    throw new RelayTargetError(
      `Service ${name} has nodePort ${port.nodePort} but no node has an address`,
      'nodes',
    );
  }
  throw new RelayTargetError(
    `Service ${name} has no external IP, no load-balancer ingress and no node port; ` +
      'its ClusterIP is not used (unreachable from NAT’d nodes before the mesh exists)',
    'status.loadBalancer.ingress',
  );
}

/** True when only a NodePort is left, so the caller must read Nodes (the agent reads them only then). */
export function needsNodeAddresses(service: V1Service | undefined): boolean {
  if (!service) return false;
  const hasExternal = (service.spec?.externalIPs ?? []).some((ip) => isIP(ip) !== 0);
  const hasIngress = (service.status?.loadBalancer?.ingress ?? []).some((i) => i.ip || i.hostname);
  return !hasExternal && !hasIngress && (service.spec?.ports ?? []).some((p) => p.nodePort);
}

/** A node's ExternalIP first (reachable from anywhere), else an InternalIP; nodes in name order, so stable. */
function nodeAddress(nodes: readonly V1Node[]): string | undefined {
  const sorted = [...nodes].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  for (const type of ['ExternalIP', 'InternalIP']) {
    for (const node of sorted) {
      const address = node.status?.addresses?.find((a) => a.type === type && isIP(a.address) !== 0);
      if (address) return address.address;
    }
  }
  return undefined;
}

function splitHostPort(text: string, field: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  const plain = /^([^:[\]]+):(\d+)$/.exec(text);
  const match = bracketed ?? plain;
  if (!match) throw new RelayTargetError(`${field} must be host:port, got ${JSON.stringify(text)}`, field);
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new RelayTargetError(`${field} has port ${match[2]} outside 1..65535`, field);
  return { host: match[1] as string, port };
}
