import { LabSpecError } from '../errors.js';

export type NatKind = 'none' | 'cone' | 'symmetric';

export interface HostSpec {
  /** Lowercase letters, digits and dashes; unique in the lab. */
  name: string;
  /** none: an address on the lab internet. cone: port-preserving masquerade. symmetric: fully-random masquerade. */
  nat: NatKind;
  /** The LAN (and so the NAT router) a NATed host sits in; hosts naming the same LAN share one router. */
  lan?: string;
}

export interface LabOptions {
  hosts?: readonly HostSpec[];
  /** A coturn STUN server answering on two lab-internet addresses (RFC 5780). */
  stun?: boolean;
  /** etcd + kube-apiserver in their own namespace on the lab internet. */
  controlPlane?: boolean;
  /** CRD manifests to install into the control plane; default charts/wirekube/crds. */
  crdDir?: string;
}

/** A host with its LAN resolved: every NATed host gets a LAN (its own unless it names a shared one). */
export interface ResolvedHost {
  name: string;
  nat: NatKind;
  lan?: string;
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$/;
const NATS: readonly NatKind[] = ['none', 'cone', 'symmetric'];
// Names the lab uses for its own namespaces; a host may not take them.
const RESERVED = new Set(['internet', 'stun', 'cp']);

const OPTION_KEYS = new Set(['hosts', 'stun', 'controlPlane', 'crdDir']);

/** Rejects misspelt options (`controlplane: true` would otherwise silently build a lab without one). */
export function checkOptions(options: object): void {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new LabSpecError(`unknown option; known: ${[...OPTION_KEYS].join(', ')}`, key);
    }
  }
  const hosts = (options as { hosts?: unknown }).hosts;
  if (hosts !== undefined && !Array.isArray(hosts)) throw new LabSpecError('must be an array', 'hosts');
}

/** Checks the spec and gives every NATed host its LAN. Throws LabSpecError naming the offending field. */
export function resolveHosts(hosts: readonly HostSpec[]): ResolvedHost[] {
  const seen = new Set<string>();
  const lanNat = new Map<string, NatKind>();
  return hosts.map((host, index) => {
    const field = `hosts[${index}]`;
    if (typeof host?.name !== 'string' || !NAME.test(host.name)) {
      throw new LabSpecError(
        `name ${JSON.stringify(host?.name)} must be 1-24 lowercase letters, digits or dashes`,
        `${field}.name`,
      );
    }
    if (RESERVED.has(host.name) || host.name.startsWith('r-')) {
      throw new LabSpecError(`name ${host.name} is reserved for the lab's own namespaces`, `${field}.name`);
    }
    if (seen.has(host.name)) throw new LabSpecError(`duplicate host name ${host.name}`, `${field}.name`);
    seen.add(host.name);
    if (!NATS.includes(host.nat)) {
      throw new LabSpecError(
        `nat must be one of ${NATS.join(', ')}, got ${JSON.stringify(host.nat)}`,
        `${field}.nat`,
      );
    }
    if (host.nat === 'none') {
      if (host.lan !== undefined) {
        throw new LabSpecError('a public host (nat: none) has no LAN', `${field}.lan`);
      }
      return { name: host.name, nat: host.nat };
    }
    const lan = host.lan ?? `lan-${host.name}`;
    if (!NAME.test(lan)) {
      throw new LabSpecError(
        `lan ${JSON.stringify(lan)} must be lowercase letters, digits or dashes`,
        `${field}.lan`,
      );
    }
    const other = lanNat.get(lan);
    if (other !== undefined && other !== host.nat) {
      throw new LabSpecError(`lan ${lan} is behind a ${other} NAT already, not ${host.nat}`, `${field}.nat`);
    }
    lanNat.set(lan, host.nat);
    return { name: host.name, nat: host.nat, lan };
  });
}
