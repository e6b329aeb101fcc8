import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/clock/fake-clock.js';
import { LeaseElector } from '../../src/leader/elector.js';
import { MemoryLeaseBackend, MemoryLeaseStore } from '../../src/leader/memory-lease-store.js';

const log = pino({ level: 'silent' });

function candidate(backend: MemoryLeaseBackend, clock: FakeClock, identity: string, events: string[]) {
  return new LeaseElector({
    store: new MemoryLeaseStore(backend, 'wirekube-controller'),
    identity,
    log,
    clock,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    onStartedLeading: () => events.push(`${identity}:start`),
    onStoppedLeading: () => events.push(`${identity}:stop`),
  });
}

describe('LeaseElector', () => {
  it('one leader, renewing; the standby takes over only after the lease duration once renewals stop', async () => {
    const clock = new FakeClock(1_000_000);
    const backend = new MemoryLeaseBackend();
    const events: string[] = [];
    const a = candidate(backend, clock, 'a', events);
    const b = candidate(backend, clock, 'b', events);
    a.start();
    await clock.advance(1);
    b.start();
    await clock.advance(30_000);
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    expect(backend.read('wirekube-controller')?.renewTimeMs).toBeGreaterThanOrEqual(clock.now() - 2_000);

    // a's process dies: no release, no more renewals.
    const diedAt = clock.now();
    backend.unavailable = false;
    (a as unknown as { stopped: boolean }).stopped = true;
    await clock.advance(14_000);
    expect(b.isLeader()).toBe(false);
    await clock.advance(4_000);
    expect(b.isLeader()).toBe(true);
    const record = backend.read('wirekube-controller');
    expect(record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect((record?.acquireTimeMs ?? 0) - diedAt).toBeGreaterThanOrEqual(15_000);
    expect((record?.acquireTimeMs ?? 0) - diedAt).toBeLessThanOrEqual(17_000);
    expect(events).toEqual(['a:start', 'b:start']);
    await b.stop();
  });

  it('graceful stop releases: the standby takes over within one retry period', async () => {
    const clock = new FakeClock(1_000_000);
    const backend = new MemoryLeaseBackend();
    const events: string[] = [];
    const a = candidate(backend, clock, 'a', events);
    const b = candidate(backend, clock, 'b', events);
    a.start();
    await clock.advance(1);
    b.start();
    await clock.advance(5_000);
    await a.stop();
    const releasedAt = clock.now();
    expect(backend.read('wirekube-controller')?.holderIdentity).toBe('');
    await clock.advance(2_000);
    expect(b.isLeader()).toBe(true);
    expect((backend.read('wirekube-controller')?.acquireTimeMs ?? 0) - releasedAt).toBeLessThanOrEqual(2_000);
    expect(events).toEqual(['a:start', 'a:stop', 'b:start']);
    await b.stop();
  });

  it('a leader that cannot renew stops leading after the renew deadline, before anyone may take over', async () => {
    const clock = new FakeClock(1_000_000);
    const backend = new MemoryLeaseBackend();
    const events: string[] = [];
    const a = candidate(backend, clock, 'a', events);
    a.start();
    await clock.advance(3_000);
    expect(a.isLeader()).toBe(true);
    backend.unavailable = true;
    await clock.advance(8_000);
    expect(a.isLeader()).toBe(true);
    await clock.advance(4_000);
    expect(a.isLeader()).toBe(false);
    backend.unavailable = false;
    await clock.advance(2_000);
    expect(a.isLeader()).toBe(true);
    expect(events).toEqual(['a:start', 'a:stop', 'a:start']);
    await a.stop();
  });
});
