import { describe, expect, it } from 'vitest';
import { classifyNat, mappedAddress, type StunObservation } from '../src/nat/classify.js';

const answer = (server: string, address: string, port: number): StunObservation => ({
  server,
  mapped: { address, port },
});
const silent = (server: string): StunObservation => ({ server, error: 'no answer after 3 attempts' });

describe('classifyNat (RFC 5780 mapping behaviour)', () => {
  it.each<[string, StunObservation[], string]>([
    [
      'same IP and port from two servers → cone',
      [answer('s1', '203.0.113.9', 51820), answer('s2', '203.0.113.9', 51820)],
      'cone',
    ],
    [
      'different ports → symmetric',
      [answer('s1', '203.0.113.9', 40001), answer('s2', '203.0.113.9', 40002)],
      'symmetric',
    ],
    [
      'different IPs → symmetric',
      [answer('s1', '203.0.113.9', 51820), answer('s2', '203.0.113.10', 51820)],
      'symmetric',
    ],
    ['one answer is undetermined, never cone', [answer('s1', '203.0.113.9', 51820), silent('s2')], ''],
    ['no answers', [silent('s1'), silent('s2')], ''],
    ['nothing asked', [], ''],
    [
      'three servers, one differs → symmetric',
      [answer('a', '1.1.1.1', 1), answer('b', '1.1.1.1', 1), answer('c', '1.1.1.1', 2)],
      'symmetric',
    ],
  ])('%s', (_name, observations, expected) => {
    expect(classifyNat(observations)).toBe(expected);
  });

  it('mappedAddress takes the address most servers agree on', () => {
    expect(
      mappedAddress([answer('a', '1.1.1.1', 2), answer('b', '1.1.1.1', 1), answer('c', '1.1.1.1', 1)]),
    ).toEqual({ address: '1.1.1.1', port: 1 });
    expect(mappedAddress([silent('a')])).toBeUndefined();
  });
});
