import { describe, expect, it } from 'vitest';
import { containsAddress, formatPrefix, overlaps, parseAddress, parsePrefix } from '../src/plan/cidr.js';

describe('cidr', () => {
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
    expect(formatPrefix(parsePrefix(text)!)).toBe(normal);
  });

  it.each(['10.0.0.5/33', '10.0.0/24', 'x/1', '2001:db8::/129', '10.0.0.5/-1', '10.0.0.5/abc'])(
    'rejects %s',
    (text) => {
      expect(parsePrefix(text)).toBeUndefined();
    },
  );

  it('tells containment and overlap, never across families', () => {
    const net = parsePrefix('10.1.0.0/16')!;
    expect(containsAddress(net, parseAddress('10.1.2.3')!)).toBe(true);
    expect(containsAddress(net, parseAddress('10.2.0.1')!)).toBe(false);
    expect(overlaps(net, parsePrefix('10.1.5.0/24')!)).toBe(true);
    expect(overlaps(parsePrefix('10.1.5.0/24')!, net)).toBe(true);
    expect(overlaps(net, parsePrefix('10.2.0.0/16')!)).toBe(false);
    expect(overlaps(parsePrefix('::/0')!, net)).toBe(false);
  });
});
