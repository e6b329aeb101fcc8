import { GATEWAY_LEASE } from '@wirekube/crd-types';
import { FakeClock, MemoryLeaseBackend, MemoryLeaseStore } from '@wirekube/kube-runtime/testing';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { GatewayHealthChecks } from '../../src/gateway/checks.js';
import type { HealthCheckTarget } from '../../src/gateway/lease-writer.js';
import type { ProbeResult } from '../../src/gateway/probe.js';

const check: HealthCheckTarget = {
  gateway: 'vpc-b',
  peer: 'node-b1',
  node: 'b1',
  target: '172.20.1.254:443',
  intervalSeconds: 5,
  timeoutSeconds: 1,
  failureThreshold: 2,
};

describe('GatewayHealthChecks', () => {
  it('probes on its cadence, writes the Lease on change and renewal only', async () => {
    const clock = new FakeClock(Date.parse('2026-12-01T10:00:00Z'));
    const backend = new MemoryLeaseBackend();
    let writes = 0;
    const leaseStore = (name: string) => {
      const store = new MemoryLeaseStore(backend, name);
      return {
        name,
        get: () => store.get(),
        create: (r: Parameters<typeof store.create>[0]) => {
          writes++;
          return store.create(r);
        },
        update: (r: Parameters<typeof store.update>[0]) => {
          writes++;
          return store.update(r);
        },
      };
    };
    let up = true;
    const probes: number[] = [];
    const prober = async (): Promise<ProbeResult> => {
      probes.push(clock.now());
      return up
        ? { ok: true, latencyMs: 1, error: '' }
        : { ok: false, latencyMs: 1000, error: 'connect ETIMEDOUT' };
    };
    const checks = new GatewayHealthChecks({ leaseStore, log: pino({ level: 'silent' }), prober, clock });
    expect(checks.set([check])).toBe(true);
    expect(checks.set([{ ...check }])).toBe(false);

    const pass = async () => (await checks.reconcile()).requeueAfterMs;
    expect(await pass()).toBe(5000);
    const lease = () => backend.read('wkgw-vpc-b-node-b1');
    expect(lease()).toMatchObject({
      holderIdentity: 'node-b1',
      leaseDurationSeconds: 15,
      labels: {
        [GATEWAY_LEASE.gatewayLabel]: 'vpc-b',
        [GATEWAY_LEASE.nodeLabel]: 'b1',
        [GATEWAY_LEASE.peerLabel]: 'node-b1',
      },
      annotations: { [GATEWAY_LEASE.healthAnnotation]: 'healthy' },
    });
    expect(await pass()).toBe(5000); // not due yet: no probe
    for (let i = 0; i < 6; i++) {
      await clock.advance(5000);
      await pass();
    }
    // 7 healthy probes over 30 s, renewed every 5 s (duration 15 s / 3): once per probe at this cadence.
    expect(probes).toHaveLength(7);
    expect(writes).toBe(7);

    up = false;
    await clock.advance(5000);
    await pass();
    expect(lease()?.annotations?.[GATEWAY_LEASE.healthAnnotation]).toBe('healthy');
    await clock.advance(5000);
    await pass();
    expect(lease()?.annotations).toMatchObject({
      [GATEWAY_LEASE.healthAnnotation]: 'unhealthy',
      [GATEWAY_LEASE.messageAnnotation]: 'connect ETIMEDOUT',
    });
    const afterUnhealthy = writes;
    for (let i = 0; i < 5; i++) {
      await clock.advance(5000);
      await pass();
    }
    expect(writes).toBe(afterUnhealthy);

    checks.set([]);
    expect((await checks.reconcile()).requeueAfterMs).toBeUndefined();
  });

  it('an unparsable target is unhealthy with the field named', async () => {
    const clock = new FakeClock(0);
    const backend = new MemoryLeaseBackend();
    const checks = new GatewayHealthChecks({
      leaseStore: (name) => new MemoryLeaseStore(backend, name),
      log: pino({ level: 'silent' }),
      prober: async () => ({ ok: true, latencyMs: 0, error: '' }),
      clock,
    });
    checks.set([{ ...check, target: 'not a target', failureThreshold: 1 }]);
    await checks.reconcile();
    expect(backend.read('wkgw-vpc-b-node-b1')?.annotations?.[GATEWAY_LEASE.messageAnnotation]).toMatch(
      /^healthCheck.target "not a target"/,
    );
  });
});
