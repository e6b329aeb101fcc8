import { describe, expect, it } from 'vitest';
import { keyToHex } from '../../src/keys/x25519.js';
import { formatSetRequest, parseGetResponse, replyErrno } from '../../src/wireguard/userspace/protocol.js';

const k1 = Buffer.alloc(32, 1).toString('base64');
const k2 = Buffer.alloc(32, 2).toString('base64');

describe('UAPI text protocol', () => {
  it('writes a set request with hex keys, peer flags and the terminating blank line', () => {
    const text = formatSetRequest({
      privateKey: k1,
      listenPort: 51820,
      fwmark: 0x574b,
      peers: [
        {
          publicKey: k2,
          endpoint: '[2001:DB8::1]:51820',
          persistentKeepalive: 25,
          allowedIPs: ['10.0.0.2/32'],
        },
        { publicKey: k1, updateOnly: true, replaceAllowedIPs: true, allowedIPs: [] },
        { publicKey: k2, remove: true },
      ],
    });
    expect(text).toBe(
      [
        'set=1',
        `private_key=${'01'.repeat(32)}`,
        'listen_port=51820',
        'fwmark=22347',
        `public_key=${'02'.repeat(32)}`,
        'endpoint=[2001:db8::1]:51820',
        'persistent_keepalive_interval=25',
        'allowed_ip=10.0.0.2/32',
        `public_key=${'01'.repeat(32)}`,
        'update_only=true',
        'replace_allowed_ips=true',
        `public_key=${'02'.repeat(32)}`,
        'remove=true',
        '',
        '',
      ].join('\n'),
    );
  });

  it('parses a get reply with per-peer state', () => {
    const reply = [
      `private_key=${keyToHex(k1)}`,
      'listen_port=51820',
      'fwmark=22347',
      `public_key=${keyToHex(k2)}`,
      `preshared_key=${'0'.repeat(64)}`,
      'protocol_version=1',
      'endpoint=203.0.113.7:51820',
      'last_handshake_time_sec=1700000000',
      'last_handshake_time_nsec=5000000',
      'tx_bytes=10',
      'rx_bytes=20',
      'persistent_keepalive_interval=25',
      'allowed_ip=10.0.0.2/32',
      'allowed_ip=fd00::2/128',
      'errno=0',
      '',
      '',
    ].join('\n');
    expect(replyErrno(reply)).toBe(0);
    expect(parseGetResponse(reply, 'wg0')).toEqual({
      name: 'wg0',
      privateKey: k1,
      listenPort: 51820,
      fwmark: 22347,
      peers: [
        {
          publicKey: k2,
          protocolVersion: 1,
          endpoint: '203.0.113.7:51820',
          lastHandshake: new Date(1_700_000_000_005),
          txBytes: 10,
          rxBytes: 20,
          persistentKeepalive: 25,
          allowedIPs: ['10.0.0.2/32', 'fd00::2/128'],
        },
      ],
    });
  });

  it('reads the errno of a failed set and notices a missing one', () => {
    expect(replyErrno('errno=-22\n\n')).toBe(-22);
    expect(replyErrno('listen_port=1\n')).toBeUndefined();
  });
});
