import { expect, it } from 'vitest';
import type { LeaseStore } from '../../src/leader/lease-store.js';

// By name, not instanceof: the lab runs the built package, a second copy of the class.
const conflict = { name: 'LeaseConflictError' };

/**
 * What every LeaseStore must do, run against the in-memory fake here and against the real API server in the
 * lab (e2e/test/controller-leader.test.ts), so the fake cannot drift from the real thing.
 * `make(name)` returns two stores on the same Lease (two processes).
 */
export function leaseStoreContract(make: (name: string) => Promise<[LeaseStore, LeaseStore]>): void {
  const T = 1_764_583_200_000;
  const record = {
    holderIdentity: 'a',
    leaseDurationSeconds: 15,
    leaseTransitions: 0,
    renewTimeMs: T,
    acquireTimeMs: T,
  };

  it('get is undefined before create', async () => {
    const [store] = await make('contract-absent');
    expect(await store.get()).toBeUndefined();
  });

  it('create then get round-trips the fields, to the microsecond field format', async () => {
    const [store] = await make('contract-roundtrip');
    const created = await store.create({ ...record, labels: { x: 'y' }, annotations: { 'a/b': 'c' } });
    expect(created.resourceVersion).toBeTruthy();
    expect(await store.get()).toMatchObject({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
      renewTimeMs: T,
      acquireTimeMs: T,
      labels: { x: 'y' },
      annotations: { 'a/b': 'c' },
    });
  });

  it('a second create conflicts', async () => {
    const [one, two] = await make('contract-create-twice');
    await one.create(record);
    await expect(two.create({ ...record, holderIdentity: 'b' })).rejects.toMatchObject(conflict);
  });

  it('update with a stale resourceVersion conflicts; with the current one it wins', async () => {
    const [one, two] = await make('contract-optimistic');
    const created = await one.create(record);
    const renewed = await one.update({ ...created, renewTimeMs: T + 2000 });
    await expect(two.update({ ...created, holderIdentity: 'b' })).rejects.toMatchObject(conflict);
    const taken = await two.update({ ...renewed, holderIdentity: 'b', leaseTransitions: 1 });
    expect(taken).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1, renewTimeMs: T + 2000 });
    expect(taken.resourceVersion).not.toBe(renewed.resourceVersion);
  });
}
