import { describe, expect, it } from 'vitest';
import { decideLease } from '../../src/leader/decide.js';

const base = { identity: 'me', leaseDurationSeconds: 15, nowMs: 100_000 };
const held = (holder: string) => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  leaseTransitions: 3,
  renewTimeMs: 1,
  resourceVersion: '7',
});

describe('decideLease (table)', () => {
  it.each([
    { name: 'absent: create', record: undefined, observed: undefined, kind: 'create' },
    { name: 'ours: renew', record: held('me'), observed: undefined, kind: 'update', takeover: false },
    {
      name: 'released (empty holder): take over',
      record: held(''),
      observed: undefined,
      kind: 'update',
      takeover: true,
    },
    {
      name: "other's, first seen now: wait a full duration (its renewTime is on another clock)",
      record: held('other'),
      observed: undefined,
      kind: 'wait',
      retryAtMs: 115_000,
    },
    {
      name: "other's, unchanged for 14.9 s: wait",
      record: held('other'),
      observed: { version: '7', atMs: 85_100 },
      kind: 'wait',
      retryAtMs: 100_100,
    },
    {
      name: "other's, unchanged for 15 s: take over",
      record: held('other'),
      observed: { version: '7', atMs: 85_000 },
      kind: 'update',
      takeover: true,
    },
    {
      name: "other's, renewed since last seen: wait again",
      record: held('other'),
      observed: { version: '6', atMs: 0 },
      kind: 'wait',
      retryAtMs: 115_000,
    },
  ])('$name', ({ record, observed, kind, takeover, retryAtMs }) => {
    const { decision } = decideLease({ ...base, record, observed });
    expect(decision.kind).toBe(kind);
    if (decision.kind === 'update') {
      expect(decision.takeover).toBe(takeover);
      expect(decision.record).toMatchObject({ holderIdentity: 'me', renewTimeMs: 100_000 });
      expect(decision.record.leaseTransitions).toBe(takeover ? 4 : 3);
    }
    if (decision.kind === 'wait') expect(decision.retryAtMs).toBe(retryAtMs);
  });
});
