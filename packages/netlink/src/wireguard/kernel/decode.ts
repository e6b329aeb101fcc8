import { keyFromBytes, publicKeyFromPrivate } from '../../keys/x25519.js';
import { familyOfAf, formatCidr } from '../../net/ip.js';
import {
  type Attribute,
  parseAttributes,
  readCString,
  readS64,
  readU8,
  readU16,
  readU32,
  readU64,
} from '../../nla/attributes.js';
import type { DeviceState, DeviceUpdate, PeerState, PeerUpdate } from '../types.js';
import { decodeSockaddr } from './sockaddr.js';
import {
  WGALLOWEDIP_A_CIDR_MASK,
  WGALLOWEDIP_A_FAMILY,
  WGALLOWEDIP_A_IPADDR,
  WGDEVICE_A_FLAGS,
  WGDEVICE_A_FWMARK,
  WGDEVICE_A_IFINDEX,
  WGDEVICE_A_IFNAME,
  WGDEVICE_A_LISTEN_PORT,
  WGDEVICE_A_PEERS,
  WGDEVICE_A_PRIVATE_KEY,
  WGDEVICE_A_PUBLIC_KEY,
  WGDEVICE_F_REPLACE_PEERS,
  WGPEER_A_ALLOWEDIPS,
  WGPEER_A_ENDPOINT,
  WGPEER_A_FLAGS,
  WGPEER_A_LAST_HANDSHAKE_TIME,
  WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
  WGPEER_A_PRESHARED_KEY,
  WGPEER_A_PROTOCOL_VERSION,
  WGPEER_A_PUBLIC_KEY,
  WGPEER_A_RX_BYTES,
  WGPEER_A_TX_BYTES,
  WGPEER_F_REMOVE_ME,
  WGPEER_F_REPLACE_ALLOWEDIPS,
  WGPEER_F_UPDATE_ONLY,
} from './uapi.js';

/** Every WireGuard attribute found in one or more messages, merged; used for both SET requests and GET replies. */
export interface DecodedPeer {
  publicKey: string;
  flags?: number;
  presharedKey?: Buffer;
  endpoint?: string;
  /** True when WGPEER_A_ENDPOINT was present, even as AF_UNSPEC. */
  hasEndpointAttr: boolean;
  persistentKeepalive?: number;
  lastHandshake?: { seconds: bigint; nanoseconds: bigint };
  rxBytes?: bigint;
  txBytes?: bigint;
  protocolVersion?: number;
  /** Undefined when no WGPEER_A_ALLOWEDIPS nest was present. */
  allowedIPs?: string[];
}

export interface DecodedDevice {
  ifindex?: number;
  ifname?: string;
  flags?: number;
  privateKey?: Buffer;
  publicKey?: Buffer;
  listenPort?: number;
  fwmark?: number;
  peers: DecodedPeer[];
}

function expectNested(attr: Attribute, what: string): void {
  if (!attr.nested) throw new RangeError(`${what} (type ${attr.type}) lacks NLA_F_NESTED`);
}

function decodeAllowedIp(attr: Attribute): string {
  expectNested(attr, 'allowed IP');
  let family: number | undefined;
  let address: Buffer | undefined;
  let prefix: number | undefined;
  for (const field of parseAttributes(attr.payload)) {
    if (field.type === WGALLOWEDIP_A_FAMILY) family = readU16(field);
    else if (field.type === WGALLOWEDIP_A_IPADDR) address = field.payload;
    else if (field.type === WGALLOWEDIP_A_CIDR_MASK) prefix = readU8(field);
  }
  const ipFamily = family === undefined ? undefined : familyOfAf(family);
  if (!ipFamily || !address || prefix === undefined || address.length !== (ipFamily === 4 ? 4 : 16)) {
    throw new RangeError('allowed IP lacks family, address or mask');
  }
  return formatCidr({ family: ipFamily, bytes: Buffer.from(address), prefix });
}

function decodePeer(attr: Attribute): DecodedPeer {
  expectNested(attr, 'peer');
  const peer: Partial<DecodedPeer> & { hasEndpointAttr: boolean } = { hasEndpointAttr: false };
  for (const field of parseAttributes(attr.payload)) {
    switch (field.type) {
      case WGPEER_A_PUBLIC_KEY:
        peer.publicKey = keyFromBytes(field.payload);
        break;
      case WGPEER_A_PRESHARED_KEY:
        peer.presharedKey = Buffer.from(field.payload);
        break;
      case WGPEER_A_FLAGS:
        peer.flags = readU32(field);
        break;
      case WGPEER_A_ENDPOINT:
        peer.hasEndpointAttr = true;
        peer.endpoint = decodeSockaddr(field.payload);
        break;
      case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
        peer.persistentKeepalive = readU16(field);
        break;
      case WGPEER_A_LAST_HANDSHAKE_TIME:
        peer.lastHandshake = { seconds: readS64(field, 0), nanoseconds: readS64(field, 8) };
        break;
      case WGPEER_A_RX_BYTES:
        peer.rxBytes = readU64(field);
        break;
      case WGPEER_A_TX_BYTES:
        peer.txBytes = readU64(field);
        break;
      case WGPEER_A_PROTOCOL_VERSION:
        peer.protocolVersion = readU32(field);
        break;
      case WGPEER_A_ALLOWEDIPS:
        expectNested(field, 'allowed IP list');
        peer.allowedIPs = parseAttributes(field.payload).map(decodeAllowedIp);
        break;
    }
  }
  if (!peer.publicKey) throw new RangeError('peer without WGPEER_A_PUBLIC_KEY');
  return peer as DecodedPeer;
}

/**
 * Decodes the attribute payloads of one or more WireGuard genl messages into one device. A peer that appears
 * again in a later message (a split allowed-IP list, in a SET request or a GET dump) is merged into the first.
 */
export function decodeDeviceMessages(payloads: readonly Buffer[]): DecodedDevice {
  const device: DecodedDevice = { peers: [] };
  const byKey = new Map<string, DecodedPeer>();
  for (const payload of payloads) {
    for (const attr of parseAttributes(payload)) {
      switch (attr.type) {
        case WGDEVICE_A_IFINDEX:
          device.ifindex = readU32(attr);
          break;
        case WGDEVICE_A_IFNAME:
          device.ifname = readCString(attr);
          break;
        case WGDEVICE_A_FLAGS:
          device.flags = readU32(attr);
          break;
        case WGDEVICE_A_PRIVATE_KEY:
          device.privateKey = Buffer.from(attr.payload);
          break;
        case WGDEVICE_A_PUBLIC_KEY:
          device.publicKey = Buffer.from(attr.payload);
          break;
        case WGDEVICE_A_LISTEN_PORT:
          device.listenPort = readU16(attr);
          break;
        case WGDEVICE_A_FWMARK:
          device.fwmark = readU32(attr);
          break;
        case WGDEVICE_A_PEERS:
          expectNested(attr, 'peer list');
          for (const entry of parseAttributes(attr.payload)) {
            const peer = decodePeer(entry);
            const seen = byKey.get(peer.publicKey);
            if (seen) {
              if (peer.allowedIPs) seen.allowedIPs = [...(seen.allowedIPs ?? []), ...peer.allowedIPs];
            } else {
              byKey.set(peer.publicKey, peer);
              device.peers.push(peer);
            }
          }
          break;
      }
    }
  }
  return device;
}

const isZero = (bytes: Buffer | undefined): boolean => !bytes || bytes.every((b) => b === 0);

/** The set operation a SET_DEVICE request (or several) performs, in the backend-neutral vocabulary. */
export function toDeviceUpdate(device: DecodedDevice): DeviceUpdate {
  const update: DeviceUpdate = { peers: [] };
  if (device.flags !== undefined && device.flags & WGDEVICE_F_REPLACE_PEERS) update.replacePeers = true;
  if (device.privateKey) update.privateKey = isZero(device.privateKey) ? '' : keyFromBytes(device.privateKey);
  if (device.listenPort !== undefined) update.listenPort = device.listenPort;
  if (device.fwmark !== undefined) update.fwmark = device.fwmark;
  for (const peer of device.peers) {
    const out: PeerUpdate = { publicKey: peer.publicKey };
    const flags = peer.flags ?? 0;
    if (flags & WGPEER_F_REMOVE_ME) out.remove = true;
    if (flags & WGPEER_F_UPDATE_ONLY) out.updateOnly = true;
    if (peer.presharedKey)
      out.presharedKey = isZero(peer.presharedKey) ? '' : keyFromBytes(peer.presharedKey);
    if (peer.endpoint !== undefined) out.endpoint = peer.endpoint;
    if (peer.persistentKeepalive !== undefined) out.persistentKeepalive = peer.persistentKeepalive;
    if (flags & WGPEER_F_REPLACE_ALLOWEDIPS) out.replaceAllowedIPs = true;
    if (peer.allowedIPs) out.allowedIPs = peer.allowedIPs;
    update.peers.push(out);
  }
  return update;
}

/** The device as a GET_DEVICE dump reports it. */
export function toDeviceState(device: DecodedDevice, fallbackName: string): DeviceState {
  const privateKey = isZero(device.privateKey) ? undefined : keyFromBytes(device.privateKey as Buffer);
  let publicKey = isZero(device.publicKey) ? undefined : keyFromBytes(device.publicKey as Buffer);
  if (!publicKey && privateKey) publicKey = publicKeyFromPrivate(privateKey);
  const peers: PeerState[] = device.peers.map((peer) => {
    const state: PeerState = {
      publicKey: peer.publicKey,
      persistentKeepalive: peer.persistentKeepalive ?? 0,
      allowedIPs: peer.allowedIPs ?? [],
      rxBytes: Number(peer.rxBytes ?? 0n),
      txBytes: Number(peer.txBytes ?? 0n),
    };
    if (!isZero(peer.presharedKey)) state.presharedKey = keyFromBytes(peer.presharedKey as Buffer);
    if (peer.endpoint !== undefined) state.endpoint = peer.endpoint;
    const handshake = peer.lastHandshake;
    if (handshake && (handshake.seconds !== 0n || handshake.nanoseconds !== 0n)) {
      state.lastHandshake = new Date(
        Number(handshake.seconds) * 1000 + Number(handshake.nanoseconds / 1_000_000n),
      );
    }
    if (peer.protocolVersion !== undefined) state.protocolVersion = peer.protocolVersion;
    return state;
  });
  const state: DeviceState = {
    name: device.ifname ?? fallbackName,
    listenPort: device.listenPort ?? 0,
    fwmark: device.fwmark ?? 0,
    peers,
  };
  if (device.ifindex !== undefined) state.ifindex = device.ifindex;
  if (privateKey) state.privateKey = privateKey;
  if (publicKey) state.publicKey = publicKey;
  return state;
}
