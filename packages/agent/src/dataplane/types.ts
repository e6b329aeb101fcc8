import type { DesiredNode, ObservedPeer } from '../plan/types.js';

/** The WireGuard device as the kernel (or wireguard-go) has it now. */
export interface DeviceSnapshot {
  publicKey?: string;
  listenPort: number;
  peers: ObservedPeer[];
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
}

/**
 * Everything the agent does to its node, behind one interface: the orchestrator never touches the kernel
 * itself, so it is tested against a fake and the real one (over @wirekube/netlink) is tested in the lab.
 */
export interface Dataplane {
  readonly backend: 'kernel' | 'userspace';
  /** The device if it exists, undefined otherwise. */
  readDevice(name: string): Promise<DeviceSnapshot | undefined>;
  /** Creates the interface (a kernel link, or a wireguard-go process that outlives the agent) and sets the MTU. */
  createDevice(name: string, mtu: number): Promise<void>;
  deleteDevice(name: string): Promise<void>;
  /**
   * Makes device, link, routes, rules and sysctls match `desired`, changing only what differs. `device` is the
   * pass's reading of the device (readDevice), so an applier that has one need not read it again.
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
  };
}

export function summaryChanged(s: ApplySummary): boolean {
  return (
    s.deviceChanged ||
    s.peersAdded.length + s.peersRemoved.length + s.peersUpdated.length > 0 ||
    s.routesAdded.length + s.routesRemoved.length > 0 ||
    s.rulesAdded + s.rulesRemoved > 0 ||
    s.sysctlsChanged.length > 0
  );
}
