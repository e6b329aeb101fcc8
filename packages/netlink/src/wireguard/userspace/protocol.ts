// The cross-platform WireGuard configuration protocol (wireguard.com/xplatform), spoken by wireguard-go and
// boringtun over /var/run/wireguard/<iface>.sock: `get=1\n\n` and `set=1\n<key=value lines>\n\n`, keys in
// lower-case hex, every reply ending in `errno=N`.
import { UapiError } from '../../errors.js';
import { keyFromHex, keyToHex } from '../../keys/x25519.js';
import { canonicalEndpoint, formatCidr, parseCidr, tryParseEndpoint } from '../../net/ip.js';
import type { DeviceState, DeviceUpdate, PeerState } from '../types.js';

const ZERO_KEY_HEX = '0'.repeat(64);

const hexOrZero = (key: string): string => (key === '' ? ZERO_KEY_HEX : keyToHex(key));

/** The `set=1` request performing `update`, terminated by the blank line. */
export function formatSetRequest(update: DeviceUpdate): string {
  const lines = ['set=1'];
  if (update.privateKey !== undefined) lines.push(`private_key=${hexOrZero(update.privateKey)}`);
  if (update.listenPort !== undefined) lines.push(`listen_port=${update.listenPort}`);
  if (update.fwmark !== undefined) lines.push(`fwmark=${update.fwmark}`);
  if (update.replacePeers) lines.push('replace_peers=true');
  for (const peer of update.peers) {
    lines.push(`public_key=${keyToHex(peer.publicKey)}`);
    if (peer.remove) {
      lines.push('remove=true');
      continue;
    }
    if (peer.updateOnly) lines.push('update_only=true');
    if (peer.presharedKey !== undefined) lines.push(`preshared_key=${hexOrZero(peer.presharedKey)}`);
    if (peer.endpoint !== undefined) lines.push(`endpoint=${canonicalEndpoint(peer.endpoint)}`);
    if (peer.persistentKeepalive !== undefined) {
      lines.push(`persistent_keepalive_interval=${peer.persistentKeepalive}`);
    }
    if (peer.replaceAllowedIPs) lines.push('replace_allowed_ips=true');
    for (const cidr of peer.allowedIPs ?? []) lines.push(`allowed_ip=${formatCidr(parseCidr(cidr))}`);
  }
  return `${lines.join('\n')}\n\n`;
}

export const GET_REQUEST = 'get=1\n\n';

/** The errno of a reply, or undefined when the reply has no errno line (truncated). */
export function replyErrno(text: string): number | undefined {
  const match = /(?:^|\n)errno=(-?\d+)\n/.exec(text.endsWith('\n') ? text : `${text}\n`);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function integer(key: string, value: string): number {
  if (!/^\d+$/.test(value))
    throw new UapiError(`bad ${key}=${value} in UAPI reply`, { operation: 'uapi.parse' });
  return Number(value);
}

/** Parses a `get=1` reply into the device state (the reply must have ended in errno=0). */
export function parseGetResponse(text: string, iface: string): DeviceState {
  const device: DeviceState = { name: iface, listenPort: 0, fwmark: 0, peers: [] };
  let peer: PeerState | undefined;
  let handshakeSeconds = 0;
  let handshakeNanos = 0;
  const finishPeer = () => {
    if (peer && (handshakeSeconds > 0 || handshakeNanos > 0)) {
      peer.lastHandshake = new Date(handshakeSeconds * 1000 + Math.floor(handshakeNanos / 1e6));
    }
    handshakeSeconds = 0;
    handshakeNanos = 0;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq < 0)
      throw new UapiError(`malformed UAPI line ${JSON.stringify(line)}`, { operation: 'uapi.parse', iface });
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'public_key') {
      finishPeer();
      peer = { publicKey: keyFromHex(value), persistentKeepalive: 0, allowedIPs: [], rxBytes: 0, txBytes: 0 };
      device.peers.push(peer);
      continue;
    }
    if (!peer) {
      if (key === 'private_key' && value !== ZERO_KEY_HEX) device.privateKey = keyFromHex(value);
      else if (key === 'listen_port') device.listenPort = integer(key, value);
      else if (key === 'fwmark') device.fwmark = integer(key, value);
      continue;
    }
    switch (key) {
      case 'preshared_key':
        if (value !== ZERO_KEY_HEX) peer.presharedKey = keyFromHex(value);
        break;
      case 'endpoint':
        if (tryParseEndpoint(value)) peer.endpoint = canonicalEndpoint(value);
        break;
      case 'persistent_keepalive_interval':
        peer.persistentKeepalive = integer(key, value);
        break;
      case 'allowed_ip':
        peer.allowedIPs.push(formatCidr(parseCidr(value)));
        break;
      case 'rx_bytes':
        peer.rxBytes = integer(key, value);
        break;
      case 'tx_bytes':
        peer.txBytes = integer(key, value);
        break;
      case 'last_handshake_time_sec':
        handshakeSeconds = integer(key, value);
        break;
      case 'last_handshake_time_nsec':
        handshakeNanos = integer(key, value);
        break;
      case 'protocol_version':
        peer.protocolVersion = integer(key, value);
        break;
    }
  }
  finishPeer();
  return device;
}
