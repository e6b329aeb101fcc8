import { ValidationError } from '../errors.js';
import { isWireGuardKey, publicKeyFromPrivate } from '../keys/x25519.js';
import { canonicalCidr, tryParseCidr, tryParseEndpoint } from '../net/ip.js';
import type { DesiredDevice, DeviceUpdate } from './types.js';

const MAX_U16 = 0xffff;
const MAX_U32 = 0xffffffff;

function checkInteger(problems: string[], what: string, value: number | undefined, max: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 0 || value > max)
    problems.push(`${what} must be an integer 0..${max}`);
}

function checkPeerFields(
  problems: string[],
  label: string,
  peer: { endpoint?: string; persistentKeepalive?: number; presharedKey?: string; allowedIPs?: string[] },
): void {
  if (peer.endpoint !== undefined && !tryParseEndpoint(peer.endpoint)) {
    problems.push(`${label}: endpoint ${JSON.stringify(peer.endpoint)} is not ip:port`);
  }
  checkInteger(problems, `${label}: persistentKeepalive`, peer.persistentKeepalive, MAX_U16);
  if (peer.presharedKey !== undefined && peer.presharedKey !== '' && !isWireGuardKey(peer.presharedKey)) {
    problems.push(`${label}: presharedKey is not a WireGuard key`);
  }
  for (const cidr of peer.allowedIPs ?? []) {
    if (!tryParseCidr(cidr)) problems.push(`${label}: allowed IP ${JSON.stringify(cidr)} is not a CIDR`);
  }
}

/**
 * The one validation path for both backends. Everything is checked before anything is sent, so a bad desired
 * state is refused whole and the device keeps its current configuration.
 */
export function validateDesiredDevice(iface: string, desired: DesiredDevice): void {
  const problems: string[] = [];
  checkInterfaceName(problems, iface);
  let ownPublicKey: string | undefined;
  if (desired.privateKey !== undefined) {
    if (isWireGuardKey(desired.privateKey)) ownPublicKey = publicKeyFromPrivate(desired.privateKey);
    else problems.push('privateKey is not a WireGuard key');
  }
  checkInteger(problems, 'listenPort', desired.listenPort, MAX_U16);
  checkInteger(problems, 'fwmark', desired.fwmark, MAX_U32);
  const seenKeys = new Set<string>();
  const prefixOwner = new Map<string, string>();
  desired.peers.forEach((peer, index) => {
    const label = `peer[${index}]`;
    if (!isWireGuardKey(peer.publicKey)) {
      problems.push(`${label}: publicKey is not a WireGuard key`);
      return;
    }
    if (seenKeys.has(peer.publicKey)) problems.push(`${label}: duplicate peer ${peer.publicKey}`);
    seenKeys.add(peer.publicKey);
    if (peer.publicKey === ownPublicKey) problems.push(`${label}: peer is the device's own public key`);
    checkPeerFields(problems, label, peer);
    // WireGuard silently moves a prefix to the last peer that claims it; refuse instead of routing to the wrong node.
    for (const cidr of peer.allowedIPs) {
      if (!tryParseCidr(cidr)) continue;
      const canonical = canonicalCidr(cidr);
      const owner = prefixOwner.get(canonical);
      if (owner !== undefined && owner !== peer.publicKey) {
        problems.push(`${label}: allowed IP ${canonical} is also claimed by peer ${owner}`);
      }
      prefixOwner.set(canonical, peer.publicKey);
    }
  });
  if (problems.length > 0) throw new ValidationError(problems, { operation: 'wireguard.apply', iface });
}

/** Validation for a raw set operation (setDevice), shared by both encoders. */
export function validateDeviceUpdate(iface: string, update: DeviceUpdate): void {
  const problems: string[] = [];
  checkInterfaceName(problems, iface);
  if (update.privateKey !== undefined && update.privateKey !== '' && !isWireGuardKey(update.privateKey)) {
    problems.push('privateKey is not a WireGuard key');
  }
  checkInteger(problems, 'listenPort', update.listenPort, MAX_U16);
  checkInteger(problems, 'fwmark', update.fwmark, MAX_U32);
  update.peers.forEach((peer, index) => {
    const label = `peer[${index}]`;
    if (!isWireGuardKey(peer.publicKey)) problems.push(`${label}: publicKey is not a WireGuard key`);
    checkPeerFields(problems, label, peer);
  });
  if (problems.length > 0) throw new ValidationError(problems, { operation: 'wireguard.set', iface });
}

/** Linux interface names: 1..15 bytes, no `/`, whitespace or `:`; `.` and `..` are reserved. */
export function checkInterfaceName(problems: string[], iface: string): void {
  if (!/^[^\s/:]{1,15}$/.test(iface) || iface === '.' || iface === '..') {
    problems.push(`interface name ${JSON.stringify(iface)} is not a valid Linux interface name`);
  }
}
