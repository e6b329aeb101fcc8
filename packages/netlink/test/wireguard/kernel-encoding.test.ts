import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/keys/x25519.js';
import {
  cString,
  NLA_F_NESTED,
  nest,
  nla,
  parseAttributes,
  u16,
  u32,
  u64,
} from '../../src/nla/attributes.js';
import { decodeDeviceMessages, toDeviceState, toDeviceUpdate } from '../../src/wireguard/kernel/decode.js';
import { encodeGetDevice, encodeSetDevice } from '../../src/wireguard/kernel/encode.js';
import * as uapi from '../../src/wireguard/kernel/uapi.js';
import type { DeviceUpdate } from '../../src/wireguard/types.js';

const key = () => generateKeyPair().publicKey;

/** Every attribute type, recursively, with whether it carries NLA_F_NESTED. */
function walk(data: Buffer, depth = 0, out: Array<{ depth: number; type: number; nested: boolean }> = []) {
  for (const attr of parseAttributes(data)) {
    out.push({ depth, type: attr.type, nested: attr.nested });
    if (attr.nested) walk(attr.payload, depth + 1, out);
  }
  return out;
}

describe('kernel backend: WG_CMD_SET_DEVICE encoding (include/uapi/linux/wireguard.h)', () => {
  it('lays a minimal request out byte for byte', () => {
    const [message] = encodeSetDevice('wg0', { listenPort: 51820, peers: [] });
    // WGDEVICE_A_IFNAME (2) "wg0\0": len 8; WGDEVICE_A_LISTEN_PORT (6) u16 51820 = 0xca6c: len 6, padded to 8.
    expect(message?.toString('hex')).toBe('08000200' + '77673000' + '06000600' + '6cca0000');
  });

  it('lays a peer with one allowed IP out byte for byte, every nest flagged NLA_F_NESTED', () => {
    const publicKey = Buffer.alloc(32, 0xab).toString('base64');
    const [message] = encodeSetDevice('wg0', {
      peers: [
        { publicKey, endpoint: '192.0.2.1:51820', persistentKeepalive: 25, allowedIPs: ['10.0.0.2/32'] },
      ],
    });
    const hex = message?.toString('hex') ?? '';
    const peerKey = `2400${'0100'}${'ab'.repeat(32)}`; // WGPEER_A_PUBLIC_KEY, len 36
    // WGPEER_A_ENDPOINT: sockaddr_in { AF_INET=2 (host order), port 51820 big-endian, 192.0.2.1, zero[8] }, len 20.
    const endpoint = `1400${'0400'}0200${'ca6c'}c0000201${'00'.repeat(8)}`;
    const keepalive = `0600${'0500'}1900${'0000'}`; // WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL u16 25, padded
    // One WGALLOWEDIP entry: FAMILY u16 AF_INET (len 6 + pad), IPADDR 4 bytes (len 8), CIDR_MASK u8 32 (len 5 + pad).
    const ip =
      `1c00${'0080'}` + `0600${'0100'}0200${'0000'}` + `0800${'0200'}0a000002` + `0500${'0300'}20000000`;
    const ips = `2000${'0980'}${ip}`; // WGPEER_A_ALLOWEDIPS | NLA_F_NESTED
    const peer = `${(4 + 36 + 20 + 8 + 32).toString(16).padStart(2, '0')}00${'0080'}${peerKey}${endpoint}${keepalive}${ips}`;
    const peers = `${(4 + 100).toString(16).padStart(2, '0')}00${'0880'}${peer}`; // WGDEVICE_A_PEERS | NESTED
    expect(hex).toBe(`08000200${'77673000'}${peers}`);
    for (const attr of walk(message as Buffer)) {
      const isNest =
        (attr.depth === 0 && attr.type === uapi.WGDEVICE_A_PEERS) ||
        attr.depth === 1 ||
        (attr.depth === 2 && attr.type === uapi.WGPEER_A_ALLOWEDIPS) ||
        attr.depth === 3;
      expect(attr.nested).toBe(isNest);
    }
  });

  it('decodes every request it builds back to the same device update', () => {
    const update: DeviceUpdate = {
      privateKey: generateKeyPair().privateKey,
      listenPort: 51820,
      fwmark: 0x574b,
      replacePeers: true,
      peers: [
        {
          publicKey: key(),
          presharedKey: generateKeyPair().privateKey,
          endpoint: '203.0.113.7:51820',
          persistentKeepalive: 25,
          allowedIPs: ['10.0.0.2/32', '172.20.0.0/16'],
        },
        { publicKey: key(), endpoint: '[2001:db8::7]:4500', allowedIPs: ['fd00::2/128', '10.0.0.3/32'] },
        { publicKey: key(), updateOnly: true, replaceAllowedIPs: true, allowedIPs: ['10.0.0.4/32'] },
        { publicKey: key(), updateOnly: true, replaceAllowedIPs: true, allowedIPs: [] },
        { publicKey: key(), updateOnly: true, presharedKey: '', persistentKeepalive: 0 },
        { publicKey: key(), remove: true },
      ],
    };
    const messages = encodeSetDevice('wire_kube', update);
    expect(messages).toHaveLength(1);
    const decoded = decodeDeviceMessages(messages);
    expect(decoded.ifname).toBe('wire_kube');
    expect(toDeviceUpdate(decoded)).toEqual(update);
  });

  it('splits a large peer set across messages as wg(8) does, and the parts decode to the whole', () => {
    const update: DeviceUpdate = {
      privateKey: generateKeyPair().privateKey,
      peers: Array.from({ length: 300 }, (_, i) => ({
        publicKey: key(),
        endpoint: `198.51.100.${i % 250}:${10000 + i}`,
        allowedIPs: [`10.1.${i >> 8}.${i & 255}/32`, `10.200.${i & 255}.0/24`],
      })),
    };
    const messages = encodeSetDevice('wg0', update);
    expect(messages.length).toBeGreaterThan(5);
    for (const message of messages)
      expect(message.length + 20).toBeLessThanOrEqual(uapi.DEFAULT_MESSAGE_BUDGET);
    // Device attributes only in the first message; every message names the interface.
    const heads = messages.map((m) => parseAttributes(m).map((a) => a.type));
    expect(heads[0]).toContain(uapi.WGDEVICE_A_PRIVATE_KEY);
    for (const types of heads.slice(1))
      expect(types).toEqual([uapi.WGDEVICE_A_IFNAME, uapi.WGDEVICE_A_PEERS]);
    expect(toDeviceUpdate(decodeDeviceMessages(messages))).toEqual(update);
  });

  it('continues one peer whose allowed IPs overflow a message, without re-sending REPLACE_ALLOWEDIPS', () => {
    const publicKey = key();
    const allowedIPs = Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const update: DeviceUpdate = {
      peers: [{ publicKey, updateOnly: true, replaceAllowedIPs: true, allowedIPs }],
    };
    const messages = encodeSetDevice('wg0', update);
    expect(messages.length).toBeGreaterThan(1);
    const perMessage = messages.map((m) => toDeviceUpdate(decodeDeviceMessages([m])).peers);
    expect(perMessage[0]?.[0]?.replaceAllowedIPs).toBe(true);
    for (const peers of perMessage.slice(1)) {
      expect(peers).toHaveLength(1);
      expect(peers[0]).toEqual({ publicKey, allowedIPs: expect.any(Array) });
    }
    expect(toDeviceUpdate(decodeDeviceMessages(messages))).toEqual(update);
  });

  it('refuses a budget too small for one peer', () => {
    expect(() =>
      encodeSetDevice(
        'wg0',
        { peers: [{ publicKey: key(), allowedIPs: ['10.0.0.1/32'] }] },
        { messageBudget: 64 },
      ),
    ).toThrow(RangeError);
  });

  it('builds the GET_DEVICE dump request by interface name', () => {
    expect(encodeGetDevice('wg0').toString('hex')).toBe('0800020077673000');
  });
});

describe('kernel backend: GET_DEVICE reply decoding', () => {
  const keys = generateKeyPair();
  const peerKey = key();

  /** A reply as the kernel writes it, built from the header's layout. */
  function reply(peerAttrs: Buffer[]): Buffer {
    return Buffer.concat([
      nla(uapi.WGDEVICE_A_IFINDEX, u32(7)),
      nla(uapi.WGDEVICE_A_IFNAME, cString('wg0')),
      nla(uapi.WGDEVICE_A_PRIVATE_KEY, Buffer.from(keys.privateKey, 'base64')),
      nla(uapi.WGDEVICE_A_PUBLIC_KEY, Buffer.from(keys.publicKey, 'base64')),
      nla(uapi.WGDEVICE_A_LISTEN_PORT, u16(51820)),
      nla(uapi.WGDEVICE_A_FWMARK, u32(0x574b)),
      nest(uapi.WGDEVICE_A_PEERS, [nest(0, peerAttrs)]),
    ]);
  }

  it('reads per-peer state: endpoint, last handshake, rx/tx, allowed IPs, and merges a split dump', () => {
    const handshake = Buffer.concat([u64(1_700_000_000n), u64(250_000_000n)]);
    const sockaddr = Buffer.from(`0200${'ca6c'}cb007107${'00'.repeat(8)}`, 'hex');
    const ip = (a: string) =>
      nest(0, [nla(1, u16(2)), nla(2, Buffer.from(a.split('.').map(Number))), nla(3, Buffer.from([32]))]);
    const first = reply([
      nla(uapi.WGPEER_A_PUBLIC_KEY, Buffer.from(peerKey, 'base64')),
      nla(uapi.WGPEER_A_PRESHARED_KEY, Buffer.alloc(32)),
      nla(uapi.WGPEER_A_ENDPOINT, sockaddr),
      nla(uapi.WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, u16(25)),
      nla(uapi.WGPEER_A_LAST_HANDSHAKE_TIME, handshake),
      nla(uapi.WGPEER_A_RX_BYTES, u64(1234n)),
      nla(uapi.WGPEER_A_TX_BYTES, u64(5678n)),
      nla(uapi.WGPEER_A_PROTOCOL_VERSION, u32(1)),
      nest(uapi.WGPEER_A_ALLOWEDIPS, [ip('10.0.0.2')]),
    ]);
    const second = Buffer.concat([
      nla(uapi.WGDEVICE_A_IFINDEX, u32(7)),
      nest(uapi.WGDEVICE_A_PEERS, [
        nest(0, [
          nla(uapi.WGPEER_A_PUBLIC_KEY, Buffer.from(peerKey, 'base64')),
          nest(uapi.WGPEER_A_ALLOWEDIPS, [ip('10.0.0.9')]),
        ]),
      ]),
    ]);
    const state = toDeviceState(decodeDeviceMessages([first, second]), 'wg0');
    expect(state).toEqual({
      name: 'wg0',
      ifindex: 7,
      privateKey: keys.privateKey,
      publicKey: keys.publicKey,
      listenPort: 51820,
      fwmark: 0x574b,
      peers: [
        {
          publicKey: peerKey,
          endpoint: '203.0.113.7:51820',
          persistentKeepalive: 25,
          lastHandshake: new Date(1_700_000_000_250),
          rxBytes: 1234,
          txBytes: 5678,
          protocolVersion: 1,
          allowedIPs: ['10.0.0.2/32', '10.0.0.9/32'],
        },
      ],
    });
  });

  it('rejects a peer nest without NLA_F_NESTED (what the npm netlink encoder emits)', () => {
    const flat = Buffer.concat([
      nla(uapi.WGDEVICE_A_IFNAME, cString('wg0')),
      nla(uapi.WGDEVICE_A_PEERS, nla(0, nla(uapi.WGPEER_A_PUBLIC_KEY, Buffer.alloc(32, 1)))),
    ]);
    expect(NLA_F_NESTED).toBe(0x8000);
    expect(() => decodeDeviceMessages([flat])).toThrow(/NLA_F_NESTED/);
  });
});
