import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  canonicalIp,
  cidrContains,
  cidrsOverlap,
  formatCidr,
  isHostCidr,
  isIp,
  isWireGuardKey,
  maskCidr,
  meshSysctls,
  parseCidr,
  parseIp,
  tryParseCidr,
  tryParseEndpoint,
} from '../src/net/index.js';

describe('the socket-free address parser', () => {
  it.each([
    '10.0.0.1',
    '0.0.0.0',
    '255.255.255.255',
    '010.0.0.1',
    '256.0.0.1',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.',
    '',
    '::',
    '::1',
    '1::',
    '2001:db8::1',
    '2001:DB8:0:0:0:0:0:1',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7::',
    '::2:3:4:5:6:7:8',
    '1::2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '::ffff:192.0.2.1',
    '::192.0.2.1',
    '1:2:3:4:5:6:192.0.2.1',
    '1:2:3:4:5:6:7:192.0.2.1',
    '::ffff:192.0.2',
    '::ffff:192.0.2.1:1',
    '1:::2',
    ':1::2',
    '1::2::3',
    '12345::',
    'g::',
    'fe80::1%eth0',
    'relay.example.com',
  ])('agrees with node:net on %j', (text) => {
    // Zone indexes are refused on purpose: neither routes nor WireGuard endpoints can carry one.
    const expected = text.includes('%') ? false : isIP(text) !== 0;
    expect(isIp(text)).toBe(expected);
  });

  it.each([
    ['10.0.0.5/32', '10.0.0.5/32'],
    ['10.0.0.5/24', '10.0.0.0/24'],
    ['10.0.0.5', '10.0.0.5/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['2001:db8::1/128', '2001:db8::1/128'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001/64', '2001:db8::/64'],
    ['::/0', '::/0'],
    ['::ffff:10.0.0.1/128', '::ffff:a00:1/128'],
    ['fe80::1:0:0:1/128', 'fe80::1:0:0:1/128'],
  ])('normalises %s to %s', (text, normal) => {
    expect(formatCidr(maskCidr(parseCidr(text)))).toBe(normal);
  });

  it.each(['10.0.0.5/33', '10.0.0/24', 'x/1', '2001:db8::/129', '10.0.0.5/-1', '10.0.0.5/abc'])(
    'rejects the prefix %s',
    (text) => {
      expect(tryParseCidr(text)).toBeUndefined();
    },
  );

  it('tells containment and overlap, never across families', () => {
    const net = parseCidr('10.1.0.0/16');
    expect(cidrContains(net, parseIp('10.1.2.3'))).toBe(true);
    expect(cidrContains(net, parseIp('10.2.0.1'))).toBe(false);
    expect(cidrContains(parseCidr('10.1.2.3/32'), parseIp('10.1.2.3'))).toBe(true);
    expect(cidrContains(parseCidr('::/0'), parseIp('10.1.2.3'))).toBe(false);
    expect(cidrsOverlap(net, parseCidr('10.1.5.0/24'))).toBe(true);
    expect(cidrsOverlap(parseCidr('10.1.5.0/24'), net)).toBe(true);
    expect(cidrsOverlap(net, parseCidr('10.2.0.0/16'))).toBe(false);
    expect(cidrsOverlap(parseCidr('::/0'), net)).toBe(false);
    expect(cidrsOverlap(parseCidr('2001:db8::/32'), parseCidr('2001:db8:1::/48'))).toBe(true);
    expect(isHostCidr(parseCidr('2001:db8::1'))).toBe(true);
    expect(isHostCidr(net)).toBe(false);
  });

  it('takes only literal endpoints: a DNS name is not an endpoint', () => {
    expect(tryParseEndpoint('203.0.113.5:51820')).toMatchObject({ family: 4, port: 51820 });
    expect(tryParseEndpoint('[2001:db8::1]:51820')).toMatchObject({ family: 6, port: 51820 });
    expect(tryParseEndpoint('relay.example.com:3478')).toBeUndefined();
    expect(canonicalIp('2001:DB8:0::1')).toBe('2001:db8::1');
  });

  it('validates WireGuard keys of any type without throwing', () => {
    expect(isWireGuardKey('YFRuFNlAIcbeD/5hH3LeOdGtYhzcGwvpjFwyxVSTmmM=')).toBe(true);
    expect(isWireGuardKey('base64-encoded-wireguard-public-key')).toBe(false);
    expect(isWireGuardKey(undefined)).toBe(false);
    expect(isWireGuardKey(42)).toBe(false);
  });

  it('lists the mesh sysctls as data', () => {
    expect(meshSysctls({ iface: 'wire_kube', ipForward: false })).toEqual([
      { key: ['net', 'ipv4', 'conf', 'wire_kube', 'disable_xfrm'], value: 1 },
      { key: ['net', 'ipv4', 'conf', 'wire_kube', 'disable_policy'], value: 1 },
      { key: ['net', 'ipv4', 'conf', 'wire_kube', 'rp_filter'], value: 2 },
      { key: ['net', 'ipv4', 'conf', 'wire_kube', 'accept_local'], value: 1 },
    ]);
  });
});
