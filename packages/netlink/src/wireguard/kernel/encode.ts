import { keyToBytes } from '../../keys/x25519.js';
import { afOf, parseCidr } from '../../net/ip.js';
import { cString, NLA_HEADER_LEN, nest, nla, u8, u16, u32 } from '../../nla/attributes.js';
import type { DeviceUpdate, PeerUpdate } from '../types.js';
import { encodeSockaddr } from './sockaddr.js';
import {
  DEFAULT_MESSAGE_BUDGET,
  GENL_HEADER_LEN,
  NLMSG_HEADER_LEN,
  WG_KEY_LEN,
  WGALLOWEDIP_A_CIDR_MASK,
  WGALLOWEDIP_A_FAMILY,
  WGALLOWEDIP_A_IPADDR,
  WGDEVICE_A_FLAGS,
  WGDEVICE_A_FWMARK,
  WGDEVICE_A_IFNAME,
  WGDEVICE_A_LISTEN_PORT,
  WGDEVICE_A_PEERS,
  WGDEVICE_A_PRIVATE_KEY,
  WGDEVICE_F_REPLACE_PEERS,
  WGPEER_A_ALLOWEDIPS,
  WGPEER_A_ENDPOINT,
  WGPEER_A_FLAGS,
  WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
  WGPEER_A_PRESHARED_KEY,
  WGPEER_A_PUBLIC_KEY,
  WGPEER_F_REMOVE_ME,
  WGPEER_F_REPLACE_ALLOWEDIPS,
  WGPEER_F_UPDATE_ONLY,
} from './uapi.js';

/** Payload (attributes after the genl header) of a WG_CMD_GET_DEVICE dump request for one interface. */
export function encodeGetDevice(iface: string): Buffer {
  return nla(WGDEVICE_A_IFNAME, cString(iface));
}

function keyOrZero(key: string, what: string): Buffer {
  return key === '' ? Buffer.alloc(WG_KEY_LEN) : keyToBytes(key, what);
}

function encodeAllowedIp(text: string): Buffer {
  const cidr = parseCidr(text);
  return nest(0, [
    nla(WGALLOWEDIP_A_FAMILY, u16(afOf(cidr.family))),
    nla(WGALLOWEDIP_A_IPADDR, cidr.bytes),
    nla(WGALLOWEDIP_A_CIDR_MASK, u8(cidr.prefix)),
  ]);
}

function peerFlags(peer: PeerUpdate): number {
  let flags = 0;
  if (peer.remove) flags |= WGPEER_F_REMOVE_ME;
  if (peer.replaceAllowedIPs) flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
  if (peer.updateOnly) flags |= WGPEER_F_UPDATE_ONLY;
  return flags;
}

/** The peer's own attributes; a continuation (rest of a split allowed-IP list) carries the key alone, as wg(8). */
function encodePeerHead(peer: PeerUpdate, continuation: boolean): Buffer[] {
  const attrs = [nla(WGPEER_A_PUBLIC_KEY, keyToBytes(peer.publicKey, 'peer public key'))];
  if (continuation) return attrs;
  const flags = peerFlags(peer);
  if (flags !== 0) attrs.push(nla(WGPEER_A_FLAGS, u32(flags)));
  if (peer.presharedKey !== undefined) {
    attrs.push(nla(WGPEER_A_PRESHARED_KEY, keyOrZero(peer.presharedKey, 'preshared key')));
  }
  if (peer.endpoint !== undefined) attrs.push(nla(WGPEER_A_ENDPOINT, encodeSockaddr(peer.endpoint)));
  if (peer.persistentKeepalive !== undefined) {
    attrs.push(nla(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, u16(peer.persistentKeepalive)));
  }
  return attrs;
}

function encodeDeviceHead(iface: string, update: DeviceUpdate, first: boolean): Buffer[] {
  const attrs = [nla(WGDEVICE_A_IFNAME, cString(iface))];
  if (!first) return attrs;
  if (update.replacePeers) attrs.push(nla(WGDEVICE_A_FLAGS, u32(WGDEVICE_F_REPLACE_PEERS)));
  if (update.privateKey !== undefined) {
    attrs.push(nla(WGDEVICE_A_PRIVATE_KEY, keyOrZero(update.privateKey, 'private key')));
  }
  if (update.listenPort !== undefined) attrs.push(nla(WGDEVICE_A_LISTEN_PORT, u16(update.listenPort)));
  if (update.fwmark !== undefined) attrs.push(nla(WGDEVICE_A_FWMARK, u32(update.fwmark)));
  return attrs;
}

const sizeOf = (parts: readonly Buffer[]): number => parts.reduce((sum, part) => sum + part.length, 0);

export interface EncodeOptions {
  /** Largest netlink message (headers included) to build; large peer sets are split to fit, as wg(8) does. */
  messageBudget?: number;
}

/**
 * Payloads of the WG_CMD_SET_DEVICE messages that perform `update` on `iface`, in order. Device attributes go
 * in the first message only; peers fill messages up to the budget; a peer whose allowed IPs do not fit is
 * continued in the next message (public key + remaining allowed IPs, without REPLACE_ALLOWEDIPS, which would
 * drop the ones already sent).
 */
export function encodeSetDevice(iface: string, update: DeviceUpdate, options: EncodeOptions = {}): Buffer[] {
  const budget = (options.messageBudget ?? DEFAULT_MESSAGE_BUDGET) - NLMSG_HEADER_LEN - GENL_HEADER_LEN;
  const messages: Buffer[] = [];
  let head = encodeDeviceHead(iface, update, true);
  let peers: Buffer[] = [];
  // The WGDEVICE_A_PEERS nest header is only paid once a peer is placed.
  const used = () => sizeOf(head) + (peers.length > 0 ? NLA_HEADER_LEN + sizeOf(peers) : NLA_HEADER_LEN);
  const flush = () => {
    messages.push(Buffer.concat(peers.length > 0 ? [...head, nest(WGDEVICE_A_PEERS, peers)] : head));
    head = encodeDeviceHead(iface, update, false);
    peers = [];
  };

  for (const peer of update.peers) {
    const ips = (peer.allowedIPs ?? []).map(encodeAllowedIp);
    const wantsIpNest = peer.allowedIPs !== undefined;
    let next = 0;
    let continuation = false;
    for (;;) {
      const peerHead = encodePeerHead(peer, continuation);
      let room = budget - used() - NLA_HEADER_LEN - sizeOf(peerHead) - (wantsIpNest ? NLA_HEADER_LEN : 0);
      let take = 0;
      while (next + take < ips.length && (ips[next + take]?.length ?? 0) <= room) {
        room -= ips[next + take]?.length ?? 0;
        take++;
      }
      if (room < 0 || (take === 0 && next < ips.length)) {
        if (peers.length === 0) {
          throw new RangeError(`message budget ${options.messageBudget} cannot hold a single peer`);
        }
        flush();
        continue;
      }
      const parts = [...peerHead];
      if (wantsIpNest) parts.push(nest(WGPEER_A_ALLOWEDIPS, ips.slice(next, next + take)));
      peers.push(nest(0, parts));
      next += take;
      if (next >= ips.length) break;
      flush();
      continuation = true;
    }
  }
  if (peers.length > 0 || messages.length === 0) flush();
  return messages;
}
