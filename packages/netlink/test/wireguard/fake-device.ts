// An in-memory WireGuard device that applies set operations the way the kernel and wireguard-go do. The two
// transport fakes below decode their own wire format into a DeviceUpdate and hand it to this model, so the
// shared-path tests exercise the real encoders end to end.
import { keyFromHex, keyToHex, publicKeyFromPrivate } from '../../src/keys/x25519.js';
import { afOf, canonicalCidr, parseCidr } from '../../src/net/ip.js';
import { cString, nest, nla, u16, u32, u64 } from '../../src/nla/attributes.js';
import { decodeDeviceMessages, toDeviceUpdate } from '../../src/wireguard/kernel/decode.js';
import type { GenlTransport } from '../../src/wireguard/kernel/genl.js';
import { encodeSockaddr } from '../../src/wireguard/kernel/sockaddr.js';
import * as uapi from '../../src/wireguard/kernel/uapi.js';
import type { DeviceState, DeviceUpdate, PeerState } from '../../src/wireguard/types.js';
import type { UapiTransport } from '../../src/wireguard/userspace/socket.js';

export class DeviceModel {
  state: DeviceState = { name: 'wg0', listenPort: 0, fwmark: 0, peers: [] };
  writes: DeviceUpdate[] = [];

  apply(update: DeviceUpdate): void {
    this.writes.push(update);
    const s = this.state;
    if (update.privateKey !== undefined) {
      s.privateKey = update.privateKey || undefined;
      s.publicKey = update.privateKey ? publicKeyFromPrivate(update.privateKey) : undefined;
    }
    if (update.listenPort !== undefined) s.listenPort = update.listenPort;
    if (update.fwmark !== undefined) s.fwmark = update.fwmark;
    if (update.replacePeers) s.peers = [];
    for (const p of update.peers) {
      let peer = s.peers.find((x) => x.publicKey === p.publicKey);
      if (p.remove) {
        s.peers = s.peers.filter((x) => x.publicKey !== p.publicKey);
        continue;
      }
      if (!peer) {
        if (p.updateOnly) continue;
        peer = { publicKey: p.publicKey, persistentKeepalive: 0, allowedIPs: [], rxBytes: 0, txBytes: 0 };
        s.peers.push(peer);
      }
      if (p.presharedKey !== undefined) peer.presharedKey = p.presharedKey || undefined;
      if (p.endpoint !== undefined) peer.endpoint = p.endpoint;
      if (p.persistentKeepalive !== undefined) peer.persistentKeepalive = p.persistentKeepalive;
      if (p.replaceAllowedIPs) peer.allowedIPs = [];
      for (const cidr of p.allowedIPs ?? []) {
        const c = canonicalCidr(cidr);
        // A prefix belongs to one peer: claiming it moves it.
        for (const other of s.peers) other.allowedIPs = other.allowedIPs.filter((x) => x !== c);
        peer.allowedIPs.push(c);
      }
    }
  }

  /** What WireGuard does when an authenticated packet arrives from a new address. */
  roam(publicKey: string, endpoint: string): void {
    const peer = this.state.peers.find((p) => p.publicKey === publicKey) as PeerState;
    peer.endpoint = endpoint;
  }
}

export function fakeGenl(model: DeviceModel): GenlTransport & { requests: number } {
  const transport = {
    requests: 0,
    async familyId(name: string) {
      if (name !== uapi.WG_GENL_NAME) throw new Error('no family');
      return 0x1a;
    },
    async request(family: number, cmd: number, version: number, payload: Buffer) {
      transport.requests++;
      if (family !== 0x1a || version !== uapi.WG_GENL_VERSION) throw new Error('bad header');
      if (cmd === uapi.WG_CMD_SET_DEVICE) {
        model.apply(toDeviceUpdate(decodeDeviceMessages([payload])));
        return [];
      }
      const s = model.state;
      const head = [nla(uapi.WGDEVICE_A_IFINDEX, u32(5)), nla(uapi.WGDEVICE_A_IFNAME, cString(s.name))];
      if (s.privateKey) head.push(nla(uapi.WGDEVICE_A_PRIVATE_KEY, Buffer.from(s.privateKey, 'base64')));
      head.push(
        nla(uapi.WGDEVICE_A_LISTEN_PORT, u16(s.listenPort)),
        nla(uapi.WGDEVICE_A_FWMARK, u32(s.fwmark)),
      );
      const peers = s.peers.map((p) =>
        nest(0, [
          nla(uapi.WGPEER_A_PUBLIC_KEY, Buffer.from(p.publicKey, 'base64')),
          nla(
            uapi.WGPEER_A_PRESHARED_KEY,
            p.presharedKey ? Buffer.from(p.presharedKey, 'base64') : Buffer.alloc(32),
          ),
          ...(p.endpoint ? [nla(uapi.WGPEER_A_ENDPOINT, encodeSockaddr(p.endpoint))] : []),
          nla(uapi.WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, u16(p.persistentKeepalive)),
          nla(uapi.WGPEER_A_LAST_HANDSHAKE_TIME, Buffer.concat([u64(0n), u64(0n)])),
          nla(uapi.WGPEER_A_RX_BYTES, u64(BigInt(p.rxBytes))),
          nla(uapi.WGPEER_A_TX_BYTES, u64(BigInt(p.txBytes))),
          nest(
            uapi.WGPEER_A_ALLOWEDIPS,
            p.allowedIPs.map((text) => {
              const c = parseCidr(text);
              return nest(0, [nla(1, u16(afOf(c.family))), nla(2, c.bytes), nla(3, Buffer.from([c.prefix]))]);
            }),
          ),
        ]),
      );
      return [Buffer.concat([...head, nest(uapi.WGDEVICE_A_PEERS, peers)])];
    },
    close() {},
  };
  return transport;
}

/** A UAPI daemon: parses `set=1` itself (independently of our formatter) and answers `get=1`. */
export function fakeUapi(model: DeviceModel): UapiTransport & { requests: string[] } {
  const requests: string[] = [];
  return {
    requests,
    socketPath: (iface) => `/fake/${iface}.sock`,
    async alive() {
      return true;
    },
    async request(_iface, text) {
      requests.push(text);
      if (text === 'get=1\n\n') {
        const s = model.state;
        const lines: string[] = [];
        if (s.privateKey) lines.push(`private_key=${keyToHex(s.privateKey)}`);
        lines.push(`listen_port=${s.listenPort}`);
        if (s.fwmark) lines.push(`fwmark=${s.fwmark}`);
        for (const p of s.peers) {
          lines.push(`public_key=${keyToHex(p.publicKey)}`);
          lines.push(`preshared_key=${p.presharedKey ? keyToHex(p.presharedKey) : '0'.repeat(64)}`);
          lines.push('protocol_version=1');
          if (p.endpoint) lines.push(`endpoint=${p.endpoint}`);
          lines.push('last_handshake_time_sec=0', 'last_handshake_time_nsec=0');
          lines.push(`tx_bytes=${p.txBytes}`, `rx_bytes=${p.rxBytes}`);
          lines.push(`persistent_keepalive_interval=${p.persistentKeepalive}`);
          for (const ip of p.allowedIPs) lines.push(`allowed_ip=${ip}`);
        }
        return `${lines.join('\n')}\nerrno=0\n\n`;
      }
      const update: DeviceUpdate = { peers: [] };
      let peer: DeviceUpdate['peers'][number] | undefined;
      for (const line of text.split('\n').slice(1)) {
        if (!line) continue;
        const [k, v = ''] = line.split('=', 2) as [string, string];
        if (k === 'public_key') {
          peer = { publicKey: keyFromHex(v) };
          update.peers.push(peer);
        } else if (!peer) {
          if (k === 'private_key') update.privateKey = v === '0'.repeat(64) ? '' : keyFromHex(v);
          if (k === 'listen_port') update.listenPort = Number(v);
          if (k === 'fwmark') update.fwmark = Number(v);
          if (k === 'replace_peers') update.replacePeers = true;
        } else if (k === 'remove') peer.remove = true;
        else if (k === 'update_only') peer.updateOnly = true;
        else if (k === 'preshared_key') peer.presharedKey = v === '0'.repeat(64) ? '' : keyFromHex(v);
        else if (k === 'endpoint') peer.endpoint = v;
        else if (k === 'persistent_keepalive_interval') peer.persistentKeepalive = Number(v);
        else if (k === 'replace_allowed_ips') peer.replaceAllowedIPs = true;
        else if (k === 'allowed_ip') peer.allowedIPs = [...(peer.allowedIPs ?? []), v];
        else return 'errno=22\n\n';
      }
      model.apply(update);
      return 'errno=0\n\n';
    },
  };
}
