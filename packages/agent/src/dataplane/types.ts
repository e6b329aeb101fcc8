import type { DesiredNode, ObservedPeer } from '../plan/types.js';

/** One peer as WireGuard has it now: live state, plus its configuration when the dataplane read it. */
export interface SnapshotPeer extends ObservedPeer {
  allowedIPs?: string[];
  persistentKeepalive?: number;
}

/**
 * The WireGuard device as the kernel (or wireguard-go) has it now. A snapshot from `readDevice` is complete
 * (fwmark, and every peer's allowed IPs and keepalive), so `apply(desired, snapshot)` diffs against it without
 * reading the device a second time; a partial one makes `apply` read the device itself.
 */
export interface DeviceSnapshot {
  publicKey?: string;
  listenPort: number;
  fwmark?: number;
  peers: SnapshotPeer[];
}

/** What one apply changed; all zero/empty on a second apply of the same desired state. */
export interface ApplySummary {
  deviceChanged: boolean;
  peersAdded: string[];
  peersRemoved: string[];
  peersUpdated: string[];
  routesAdded: string[];
  routesRemoved: string[];
  rulesAdded: number;
  rulesRemoved: number;
  sysctlsChanged: string[];
  /** Tagged iptables rules by comment: added, removed, moved back to the top of their chain. */
  iptablesAdded: string[];
  iptablesRemoved: string[];
  iptablesUpdated: string[];
  /** Desired rules whose chain does not exist (KUBE-FIREWALL without kube-proxy): not an error, not a change. */
  iptablesSkipped: string[];
}

/**
 * Everything the agent does to its node, behind one interface: the orchestrator never touches the kernel
 * itself, so it is tested against a fake and the real one (over @wirekube/netlink) is tested in the lab; both
 * pass the same contract suite (agent/test/dataplane-contract.ts).
 */
export interface Dataplane {
  readonly backend: 'kernel' | 'userspace';
  /** The device if it exists, undefined otherwise. */
  readDevice(name: string): Promise<DeviceSnapshot | undefined>;
  /** Creates the interface (a kernel link, or a wireguard-go process that outlives the agent) and sets the MTU. */
  createDevice(name: string, mtu: number): Promise<void>;
  deleteDevice(name: string): Promise<void>;
  /**
   * Makes device, link, routes, rules, sysctls and tagged iptables rules match `desired`, changing only what
   * differs; a missing interface is created. `device` is the reading this pass planned from: diffed against
   * instead of reading the device again.
   */
  apply(desired: DesiredNode, device?: DeviceSnapshot): Promise<ApplySummary>;
  /** Addresses on this host's interfaces other than `exclude` (the WireGuard interface). */
  hostAddresses(exclude: string): Promise<string[]>;
}

export function emptySummary(): ApplySummary {
  return {
    deviceChanged: false,
    peersAdded: [],
    peersRemoved: [],
    peersUpdated: [],
    routesAdded: [],
    routesRemoved: [],
    rulesAdded: 0,
    rulesRemoved: 0,
    sysctlsChanged: [],
    iptablesAdded: [],
    iptablesRemoved: [],
    iptablesUpdated: [],
    iptablesSkipped: [],
  };
}

export function summaryChanged(s: ApplySummary): boolean {
  return (
    s.deviceChanged ||
    s.peersAdded.length + s.peersRemoved.length + s.peersUpdated.length > 0 ||
    s.routesAdded.length + s.routesRemoved.length > 0 ||
    s.rulesAdded + s.rulesRemoved > 0 ||
    s.sysctlsChanged.length > 0 ||
    s.iptablesAdded.length + s.iptablesRemoved.length + s.iptablesUpdated.length > 0
  );
}
