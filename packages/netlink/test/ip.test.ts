import { describe, expect, it } from 'vitest';
import { errnoOf, toNetlinkError } from '../src/errors.js';
import {
  canonicalCidr,
  canonicalEndpoint,
  formatIp,
  parseIp,
  tryParseCidr,
  tryParseEndpoint,
} from '../src/net/ip.js';

describe('addresses', () => {
  it('round-trips IPv4 and IPv6 through bytes in RFC 5952 form', () => {
    for (const [text, canonical] of [
      ['10.0.0.1', '10.0.0.1'],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['::', '::'],
      ['fe80::1:0:0:1', 'fe80::1:0:0:1'],
      ['::ffff:192.0.2.1', '::ffff:c000:201'],
      ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ]) {
      expect(formatIp(parseIp(text as string).bytes)).toBe(canonical);
    }
  });

  it('canonicalises prefixes and endpoints, and rejects malformed ones', () => {
    expect(canonicalCidr('10.0.0.5/24')).toBe('10.0.0.0/24');
    expect(canonicalCidr('10.0.0.5')).toBe('10.0.0.5/32');
    expect(canonicalCidr('FD00::1/64')).toBe('fd00::/64');
    expect(tryParseCidr('10.0.0.0/33')).toBeUndefined();
    expect(tryParseCidr('10.0.0/8')).toBeUndefined();
    expect(canonicalEndpoint('[2001:DB8::1]:51820')).toBe('[2001:db8::1]:51820');
    expect(tryParseEndpoint('2001:db8::1:51820')).toBeUndefined();
    expect(tryParseEndpoint('10.0.0.1:0')).toBeUndefined();
    expect(tryParseEndpoint('10.0.0.1:65536')).toBeUndefined();
  });
});

describe('errors', () => {
  it('recovers errno from what the netlink package throws', () => {
    expect(errnoOf(new Error('Request rejected: EEXIST'))).toEqual({ errno: 17, code: 'EEXIST' });
    const error = toNetlinkError(new Error('Request rejected: ENODEV'), {
      operation: 'route.replace',
      iface: 'wg0',
    });
    expect(error).toMatchObject({ operation: 'route.replace', errno: 19, code: 'ENODEV', iface: 'wg0' });
    expect(error.message).toBe('route.replace failed: ENODEV');
  });
});
