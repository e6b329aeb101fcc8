import { LabSpecError } from '../errors.js';

export type NatKind = 'none' | 'cone' | 'symmetric';

export interface HostSpec {
  /** Lowercase letters, digits and dashes; unique in the lab. */
  name: string;
  /** none: an address on the lab internet. cone: port-preserving masquerade. symmetric: fully-random masquerade. */
  nat: NatKind;
  /** The LAN (and so the NAT router) a NATed host sits in; hosts naming the same LAN share one router. */
  lan?: string;
  /** With `kubernetes`: labels the kubelet registers its Node with. */
  labels?: Readonly<Record<string, string>>;
  /** With `kubernetes`: taints the kubelet registers its Node with. */
  taints?: readonly NodeTaint[];
}

export interface NodeTaint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface ControlPlaneOptions {
  /**
   * kube-controller-manager and kube-scheduler too (DaemonSets, Deployments, Jobs, garbage collection are
   * real), with NodeRestriction admission. Off by default: the bare API server starts in about 3 s.
   */
  controllers?: boolean;
}

export interface LabOptions {
  hosts?: readonly HostSpec[];
  /** A coturn STUN server answering on two lab-internet addresses (RFC 5780). */
  stun?: boolean;
  /** etcd + kube-apiserver in their own namespace on the lab internet; `{ controllers: true }` for more. */
  controlPlane?: boolean | ControlPlaneOptions;
  /** CRD manifests to install into the control plane; default charts/wirekube/crds. */
  crdDir?: string;
  /**
   * Every host a Kubernetes Node: its own containerd and kubelet, mount namespace and state directories.
   * Implies a control plane with controllers and the lab registry.
   */
  kubernetes?: boolean;
  /** A local OCI registry (Debian's docker-registry, plain HTTP) next to the API server. */
  registry?: boolean;
}

/** A host with its LAN resolved: every NATed host gets a LAN (its own unless it names a shared one). */
export interface ResolvedHost {
  name: string;
  nat: NatKind;
  lan?: string;
  labels: Record<string, string>;
  taints: NodeTaint[];
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$/;
const NATS: readonly NatKind[] = ['none', 'cone', 'symmetric'];
// Names the lab uses for its own namespaces; a host may not take them.
const RESERVED = new Set(['internet', 'stun', 'cp']);

const OPTION_KEYS = new Set(['hosts', 'stun', 'controlPlane', 'crdDir', 'kubernetes', 'registry']);
const CONTROL_PLANE_KEYS = new Set(['controllers']);
const HOST_KEYS = new Set(['name', 'nat', 'lan', 'labels', 'taints']);
const EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
// Kubernetes' qualified name rules, loosely: an optional DNS prefix and a name of at most 63 characters.
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** What the control plane runs, resolved from `controlPlane` and `kubernetes`. */
export interface ResolvedControlPlane {
  controllers: boolean;
}

export function resolveControlPlane(options: LabOptions): ResolvedControlPlane | undefined {
  const requested = options.controlPlane;
  if (options.kubernetes) return { controllers: true };
  if (!requested) return undefined;
  return { controllers: typeof requested === 'object' && requested.controllers === true };
}

/** Rejects misspelt options (`controlplane: true` would otherwise silently build a lab without one). */
export function checkOptions(options: object): void {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new LabSpecError(`unknown option; known: ${[...OPTION_KEYS].join(', ')}`, key);
    }
  }
  const hosts = (options as { hosts?: unknown }).hosts;
  if (hosts !== undefined && !Array.isArray(hosts)) throw new LabSpecError('must be an array', 'hosts');
  const controlPlane = (options as { controlPlane?: unknown }).controlPlane;
  if (controlPlane !== undefined && typeof controlPlane !== 'boolean') {
    if (typeof controlPlane !== 'object' || controlPlane === null) {
      throw new LabSpecError('must be a boolean or { controllers }', 'controlPlane');
    }
    for (const key of Object.keys(controlPlane)) {
      if (!CONTROL_PLANE_KEYS.has(key)) {
        throw new LabSpecError(
          `unknown option; known: ${[...CONTROL_PLANE_KEYS].join(', ')}`,
          `controlPlane.${key}`,
        );
      }
    }
  }
  for (const key of ['stun', 'kubernetes', 'registry'] as const) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined && typeof value !== 'boolean') throw new LabSpecError('must be a boolean', key);
  }
}

function checkNodeFields(host: HostSpec, field: string): void {
  for (const key of Object.keys(host)) {
    if (!HOST_KEYS.has(key)) {
      throw new LabSpecError(`unknown field; known: ${[...HOST_KEYS].join(', ')}`, `${field}.${key}`);
    }
  }
  for (const [key, value] of Object.entries(host.labels ?? {})) {
    if (!LABEL_KEY.test(key))
      throw new LabSpecError(`bad label key ${JSON.stringify(key)}`, `${field}.labels`);
    if (typeof value !== 'string' || !LABEL_VALUE.test(value)) {
      throw new LabSpecError(`bad value ${JSON.stringify(value)} for label ${key}`, `${field}.labels.${key}`);
    }
  }
  (host.taints ?? []).forEach((taint, index) => {
    const at = `${field}.taints[${index}]`;
    if (typeof taint?.key !== 'string' || !LABEL_KEY.test(taint.key)) {
      throw new LabSpecError(`bad taint key ${JSON.stringify(taint?.key)}`, `${at}.key`);
    }
    if (taint.value !== undefined && (typeof taint.value !== 'string' || !LABEL_VALUE.test(taint.value))) {
      throw new LabSpecError(`bad taint value ${JSON.stringify(taint.value)}`, `${at}.value`);
    }
    if (!EFFECTS.includes(taint.effect)) {
      throw new LabSpecError(`effect must be one of ${EFFECTS.join(', ')}`, `${at}.effect`);
    }
  });
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
    checkNodeFields(host, field);
    const node = { labels: { ...host.labels }, taints: [...(host.taints ?? [])] };
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
      return { name: host.name, nat: host.nat, ...node };
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
    return { name: host.name, nat: host.nat, lan, ...node };
  });
}
