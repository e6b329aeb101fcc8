import { describe, expect, it } from 'vitest';
import {
  GATEWAY_LEASE,
  gatewayLeaseDurationSeconds,
  gatewayLeaseName,
  readGatewayHealthLease,
} from '../src/index.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');

function lease(health: string | undefined, renewSecondsAgo: number, duration = 15) {
  const annotations: Record<string, string> = {};
  if (health) annotations[GATEWAY_LEASE.healthAnnotation] = health;
  if (health === 'unhealthy') annotations[GATEWAY_LEASE.messageAnnotation] = 'connect ECONNREFUSED';
  return {
    metadata: {
      name: 'wkgw-gw-node-b1',
      labels: { [GATEWAY_LEASE.gatewayLabel]: 'gw', [GATEWAY_LEASE.peerLabel]: 'node-b1' },
      annotations,
    },
    spec: {
      holderIdentity: 'node-b1',
      leaseDurationSeconds: duration,
      renewTime: new Date(T0 - renewSecondsAgo * 1000).toISOString(),
    },
  };
}

describe('gatewayLeaseName', () => {
  it('is wkgw-<gateway>-<peer> when short', () => {
    expect(gatewayLeaseName('vpc-b', 'node-b1')).toBe('wkgw-vpc-b-node-b1');
  });
  it('hashes to 63 characters, distinct per pair, when long', () => {
    const a = gatewayLeaseName('g'.repeat(40), `node-${'x'.repeat(40)}`);
    const b = gatewayLeaseName('g'.repeat(40), `node-${'x'.repeat(39)}y`);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^wkgw-g+/);
  });
});

describe('readGatewayHealthLease', () => {
  it.each([
    { name: 'fresh healthy', health: 'healthy', ago: 1, healthy: true, expired: false, message: '' },
    {
      name: 'fresh unhealthy',
      health: 'unhealthy',
      ago: 1,
      healthy: false,
      expired: false,
      message: 'connect ECONNREFUSED',
    },
    {
      name: 'expired healthy',
      health: 'healthy',
      ago: 15,
      healthy: false,
      expired: true,
      message: 'health lease expired (agent not renewing)',
    },
    {
      name: 'no verdict',
      health: undefined,
      ago: 1,
      healthy: false,
      expired: false,
      message: 'probe failing',
    },
  ])('$name', ({ health, ago, healthy, expired, message }) => {
    const report = readGatewayHealthLease(lease(health, ago), T0);
    expect(report).toMatchObject({ gateway: 'gw', peer: 'node-b1', healthy, expired, message });
    expect(report?.expiresAtMs).toBe(T0 - ago * 1000 + 15_000);
  });
  it('ignores a Lease without the gateway label', () => {
    expect(readGatewayHealthLease({ metadata: { name: 'x' }, spec: {} }, T0)).toBeUndefined();
  });
  it('duration covers failureThreshold + 1 intervals, at least 10 s', () => {
    expect(gatewayLeaseDurationSeconds(30, 3)).toBe(120);
    expect(gatewayLeaseDurationSeconds(5, 1)).toBe(10);
  });
});
