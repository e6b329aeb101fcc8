import { maskCidr, parseCidr } from '@wirekube/netlink/net';
import { describe, expect, it } from 'vitest';
import { PrefixSet } from '../src/plan/prefix-set.js';

const p = (text: string) => maskCidr(parseCidr(text));

describe('PrefixSet', () => {
  const set = new PrefixSet<string>();
  set.add(p('10.0.0.1/32'), 'a');
  set.add(p('172.20.0.0/16'), 'b');
  set.add(p('2001:db8::/64'), 'c');

  it.each([
    ['10.0.0.1/32', 'a'],
    ['10.0.0.0/24', 'a'],
    ['0.0.0.0/0', 'a'],
    ['172.20.5.0/24', 'b'],
    ['172.20.5.7/32', 'b'],
    ['172.0.0.0/8', 'b'],
    ['2001:db8::5/128', 'c'],
    ['2001:db8::/32', 'c'],
  ])('%s overlaps the prefix owned by %s', (text, owner) => {
    expect(set.findOverlap(p(text))?.owner).toBe(owner);
  });

  it.each([
    '10.0.0.2/32',
    '10.0.1.0/24',
    '172.21.0.0/16',
    '192.0.2.0/24',
    '2001:db9::/32',
    '::ffff:10.0.0.1/128',
  ])('%s overlaps nothing', (text) => {
    expect(set.findOverlap(p(text))).toBeUndefined();
  });
});
