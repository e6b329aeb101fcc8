import type { SetResult } from '../applier.js';

/** Which implementation programs the device. */
export type WireGuardBackendKind = 'kernel' | 'userspace';

/** A peer as the caller wants it. Keys are WireGuard base64; addresses are text. */
export interface DesiredPeer {
  publicKey: string;
  /** `ip:port` or `[ip6]:port`. Undefined: never touch the peer's endpoint. */
  endpoint?: string;
  /**
   * WireGuard roams a peer's endpoint to the source of its last authenticated packet. A desired endpoint that
   * differs from a roamed one is therefore NOT written unless this is true (switching to/from a relay proxy).
   * An endpoint is always written when the peer has none yet.
   */
  forceEndpoint?: boolean;
  /** Seconds; 0 or undefined disables persistent keepalive. */
  persistentKeepalive?: number;
  /** Undefined: leave the peer's preshared key alone. */
  presharedKey?: string;
  /** Prefixes routed to this peer. Compared as a set of canonical (masked) prefixes. */
  allowedIPs: string[];
}

/** A device as the caller wants it. Undefined scalar fields are left as the device has them. */
export interface DesiredDevice {
  privateKey?: string;
  listenPort?: number;
  fwmark?: number;
  peers: DesiredPeer[];
}

/** A peer as the device reports it, including its live state. */
export interface PeerState {
  publicKey: string;
  presharedKey?: string;
  endpoint?: string;
  persistentKeepalive: number;
  allowedIPs: string[];
  /** Undefined when no handshake has completed yet. */
  lastHandshake?: Date;
  rxBytes: number;
  txBytes: number;
  protocolVersion?: number;
}

/** A device as read back from the kernel or the UAPI socket. */
export interface DeviceState {
  name: string;
  ifindex?: number;
  privateKey?: string;
  publicKey?: string;
  listenPort: number;
  fwmark: number;
  peers: PeerState[];
}

/**
 * One "set device" operation, in the vocabulary both WireGuard configuration protocols share (the kernel's
 * WG_CMD_SET_DEVICE attributes and the UAPI `set=1` keys). Produced by the diff, encoded by each backend.
 */
export interface PeerUpdate {
  publicKey: string;
  remove?: boolean;
  /** Only change an existing peer, never create one. */
  updateOnly?: boolean;
  /** A zero-length string clears the preshared key. */
  presharedKey?: string;
  endpoint?: string;
  persistentKeepalive?: number;
  /** Drop the peer's allowed IPs before adding `allowedIPs` (atomically, without removing the peer). */
  replaceAllowedIPs?: boolean;
  allowedIPs?: string[];
}

export interface DeviceUpdate {
  /** A zero-length string clears the private key. */
  privateKey?: string;
  listenPort?: number;
  fwmark?: number;
  /** Remove every peer not named in `peers`. The diff never needs it; callers of setDevice may. */
  replacePeers?: boolean;
  peers: PeerUpdate[];
}

export type PeerField = 'endpoint' | 'allowedIPs' | 'persistentKeepalive' | 'presharedKey';
export type DeviceField = 'privateKey' | 'listenPort' | 'fwmark';

export interface PeerChange {
  publicKey: string;
  fields: PeerField[];
}

/**
 * What an apply changed, in the shape every applier returns (peers by public key), plus the device fields;
 * `changed: false` means nothing was sent to the device.
 */
export interface ApplyResult extends SetResult<string, string, PeerChange> {
  device: DeviceField[];
  /** Peers whose roamed endpoint was kept although the desired endpoint differs. */
  keptRoamedEndpoints: Array<{ publicKey: string; actual: string; desired: string }>;
}

export interface ApplyOptions {
  /** Remove peers the device has but `desired` does not name (default true: the caller owns the device). */
  replacePeers?: boolean;
  /**
   * The device as the caller read it moments ago (its plan was made from that reading): diffed against instead
   * of reading again. WireGuard itself only ever moves endpoints and counters, which the diff tolerates.
   */
  actual?: DeviceState;
}
