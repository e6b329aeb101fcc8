import { publicKeyFromPrivate } from '../keys/x25519.js';
import { canonicalCidr, canonicalEndpoint } from '../net/ip.js';
import type {
  ApplyOptions,
  ApplyResult,
  DesiredDevice,
  DesiredPeer,
  DeviceField,
  DeviceState,
  DeviceUpdate,
  PeerField,
  PeerState,
  PeerUpdate,
} from './types.js';

export interface DevicePlan {
  /** Undefined when the device already matches: nothing must be sent. */
  update: DeviceUpdate | undefined;
  result: ApplyResult;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  if (left.size !== right.size) return false;
  for (const item of left) if (!right.has(item)) return false;
  return true;
}

function canonicalList(cidrs: readonly string[]): string[] {
  return [...new Set(cidrs.map(canonicalCidr))];
}

function newPeer(peer: DesiredPeer): PeerUpdate {
  const update: PeerUpdate = { publicKey: peer.publicKey, allowedIPs: canonicalList(peer.allowedIPs) };
  if (peer.endpoint !== undefined) update.endpoint = canonicalEndpoint(peer.endpoint);
  if (peer.persistentKeepalive) update.persistentKeepalive = peer.persistentKeepalive;
  if (peer.presharedKey) update.presharedKey = peer.presharedKey;
  return update;
}

function changedPeer(
  peer: DesiredPeer,
  actual: PeerState,
  kept: ApplyResult['keptRoamedEndpoints'],
): { update: PeerUpdate; fields: PeerField[] } | undefined {
  const update: PeerUpdate = { publicKey: peer.publicKey, updateOnly: true };
  const fields: PeerField[] = [];
  if (peer.endpoint !== undefined) {
    const desired = canonicalEndpoint(peer.endpoint);
    const current = actual.endpoint === undefined ? undefined : canonicalEndpoint(actual.endpoint);
    if (current === undefined || (current !== desired && peer.forceEndpoint)) {
      update.endpoint = desired;
      fields.push('endpoint');
    } else if (current !== desired) {
      kept.push({ publicKey: peer.publicKey, actual: current, desired });
    }
  }
  const keepalive = peer.persistentKeepalive ?? 0;
  if (keepalive !== actual.persistentKeepalive) {
    update.persistentKeepalive = keepalive;
    fields.push('persistentKeepalive');
  }
  if (peer.presharedKey !== undefined && peer.presharedKey !== (actual.presharedKey ?? '')) {
    update.presharedKey = peer.presharedKey;
    fields.push('presharedKey');
  }
  const desiredIPs = canonicalList(peer.allowedIPs);
  if (!sameSet(desiredIPs, canonicalList(actual.allowedIPs))) {
    // Replace the list in place: removing and re-adding the peer would drop its session and handshake.
    update.replaceAllowedIPs = true;
    update.allowedIPs = desiredIPs;
    fields.push('allowedIPs');
  }
  return fields.length > 0 ? { update, fields } : undefined;
}

/**
 * A reading that leaves the private key out (kept out of logs and snapshots) still says whose device it is
 * through the public key.
 */
function holdsKey(actual: DeviceState, privateKey: string): boolean {
  if (actual.privateKey !== undefined) return actual.privateKey === privateKey;
  return actual.publicKey !== undefined && actual.publicKey === publicKeyFromPrivate(privateKey);
}

/**
 * The one peer diff both backends use: the smallest set operation that turns `actual` into `desired`.
 * Pure; `desired` must have passed validateDesiredDevice.
 */
export function planDevice(
  actual: DeviceState,
  desired: DesiredDevice,
  options: ApplyOptions = {},
): DevicePlan {
  const replacePeers = options.replacePeers ?? true;
  const update: DeviceUpdate = { peers: [] };
  const result: ApplyResult = {
    changed: false,
    device: [],
    added: [],
    removed: [],
    updated: [],
    keptRoamedEndpoints: [],
  };
  const deviceFields: DeviceField[] = [];
  if (desired.privateKey !== undefined && !holdsKey(actual, desired.privateKey)) {
    update.privateKey = desired.privateKey;
    deviceFields.push('privateKey');
  }
  // Port 0 asks for a random port, which the device then reports as a real one: treat it as "any".
  if (
    desired.listenPort !== undefined &&
    desired.listenPort !== 0 &&
    desired.listenPort !== actual.listenPort
  ) {
    update.listenPort = desired.listenPort;
    deviceFields.push('listenPort');
  }
  if (desired.fwmark !== undefined && desired.fwmark !== actual.fwmark) {
    update.fwmark = desired.fwmark;
    deviceFields.push('fwmark');
  }
  result.device = deviceFields;

  const actualPeers = new Map(actual.peers.map((peer) => [peer.publicKey, peer]));
  const wanted = new Set<string>();
  for (const peer of desired.peers) {
    wanted.add(peer.publicKey);
    const current = actualPeers.get(peer.publicKey);
    if (!current) {
      update.peers.push(newPeer(peer));
      result.added.push(peer.publicKey);
      continue;
    }
    const change = changedPeer(peer, current, result.keptRoamedEndpoints);
    if (change) {
      update.peers.push(change.update);
      result.updated.push({ publicKey: peer.publicKey, fields: change.fields });
    }
  }
  if (replacePeers) {
    for (const peer of actual.peers) {
      if (wanted.has(peer.publicKey)) continue;
      update.peers.push({ publicKey: peer.publicKey, remove: true });
      result.removed.push(peer.publicKey);
    }
  }
  result.changed = deviceFields.length > 0 || update.peers.length > 0;
  return { update: result.changed ? update : undefined, result };
}
