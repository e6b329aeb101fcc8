import { describe, expect, it } from 'vitest';
import { plan } from '../src/plan/plan.js';
import {
  apiServerSliceAddresses,
  PROTECT_RULE_PRIORITY,
  ProtectedAddressError,
  parseAddressList,
  protectRules,
} from '../src/plan/protect.js';
import { input, KEYS, peer } from './fixtures.js';

describe('defect 5: the API server and relays are looked up in the main table ahead of the tunnel', () => {
  it('one lookup-main rule per /32 or /128, deduplicated, ahead of the fwmark rule and table 22347', () => {
    expect(protectRules(['10.0.0.5', '2001:db8::1', '10.0.0.5', '10.0.0.4', 'not-an-ip'])).toEqual([
      { family: 4, priority: 198, table: 254, destination: '10.0.0.4/32' },
      { family: 4, priority: 198, table: 254, destination: '10.0.0.5/32' },
      { family: 6, priority: 198, table: 254, destination: '2001:db8::1/128' },
    ]);
    expect(PROTECT_RULE_PRIORITY).toBeLessThan(199);
  });

  it('plan(): a peer whose allowedIPs cover the API server still leaves it on the main table', () => {
    const desired = plan(
      input({
        peers: [
          peer('cp', { publicKey: KEYS.a, allowedIPs: ['10.0.0.5/32'], endpoint: '198.51.100.9:51820' }),
        ],
        mainTableAddresses: ['10.0.0.5'],
      }),
    );
    expect(desired.rules).toEqual([
      { family: 4, priority: 198, table: 254, destination: '10.0.0.5/32' },
      { family: 4, priority: 199, table: 254, fwmark: 0x574b },
      { family: 4, priority: 200, table: 22347 },
    ]);
  });

  it('the API server addresses are the kubernetes EndpointSlices’ addresses', () => {
    expect(
      apiServerSliceAddresses([
        {
          addressType: 'IPv4',
          endpoints: [
            { addresses: ['10.0.0.5'], conditions: { ready: true } },
            { addresses: ['10.0.0.6'], conditions: { ready: false } },
          ],
        },
        { addressType: 'FQDN', endpoints: [{ addresses: ['api.example.com'] }] },
        { addressType: 'IPv6', endpoints: [{ addresses: ['2001:db8:0::7'] }] },
      ]),
    ).toEqual(['10.0.0.5', '10.0.0.6', '2001:db8::7']);
  });

  it('--api-server-address takes IPs and IP:ports; anything else is an error naming the flag', () => {
    expect(
      parseAddressList('10.0.0.5, 10.0.0.6:6443,[2001:db8::1]:6443,2001:db8::2,', '--api-server-address'),
    ).toEqual(['10.0.0.5', '10.0.0.6', '2001:db8::1', '2001:db8::2']);
    expect(() => parseAddressList('10.0.0.5,api.example.com', '--api-server-address')).toThrow(
      new ProtectedAddressError('--api-server-address', 'api.example.com'),
    );
    expect(() => parseAddressList('10.0.0.5,api.example.com', '--api-server-address')).toThrow(
      '--api-server-address: "api.example.com" is not an IP address or IP:port',
    );
  });
});
