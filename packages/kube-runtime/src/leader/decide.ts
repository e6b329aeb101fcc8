import type { LeaseRecord } from './lease-store.js';

/** When this candidate last saw the Lease change (its resourceVersion), by its own clock. */
export interface LeaseObservation {
  version: string;
  atMs: number;
}

export interface LeaseDecisionInput {
  record: LeaseRecord | undefined;
  identity: string;
  nowMs: number;
  leaseDurationSeconds: number;
  observed: LeaseObservation | undefined;
}

export type LeaseDecision =
  | { kind: 'create'; record: LeaseRecord }
  /** Renew our own Lease, or take over a free or expired one (`takeover`). */
  | { kind: 'update'; record: LeaseRecord; takeover: boolean }
  /** Someone else holds it: try again at `retryAtMs` at the latest. */
  | { kind: 'wait'; holder: string; retryAtMs: number };

/**
 * Acquire, renew or wait. Expiry is measured from when this candidate observed the holder's last change, on
 * its own clock (as client-go does), so clock skew between nodes cannot make a standby steal a live Lease. An
 * empty holder is a Lease released on graceful shutdown: free at once.
 */
export function decideLease(input: LeaseDecisionInput): {
  decision: LeaseDecision;
  observed?: LeaseObservation;
} {
  const { record, identity, nowMs, leaseDurationSeconds } = input;
  if (!record) {
    return {
      decision: {
        kind: 'create',
        record: {
          holderIdentity: identity,
          leaseDurationSeconds,
          acquireTimeMs: nowMs,
          renewTimeMs: nowMs,
          leaseTransitions: 0,
        },
      },
    };
  }
  const version = record.resourceVersion ?? '';
  const observed =
    input.observed && input.observed.version === version ? input.observed : { version, atMs: nowMs };
  if (record.holderIdentity === identity) {
    return {
      decision: {
        kind: 'update',
        takeover: false,
        record: { ...record, leaseDurationSeconds, renewTimeMs: nowMs },
      },
      observed,
    };
  }
  const expiresAtMs = observed.atMs + record.leaseDurationSeconds * 1000;
  if (record.holderIdentity === '' || nowMs >= expiresAtMs) {
    return {
      decision: {
        kind: 'update',
        takeover: true,
        record: {
          ...record,
          holderIdentity: identity,
          leaseDurationSeconds,
          acquireTimeMs: nowMs,
          renewTimeMs: nowMs,
          leaseTransitions: record.leaseTransitions + 1,
        },
      },
      observed,
    };
  }
  return { decision: { kind: 'wait', holder: record.holderIdentity, retryAtMs: expiresAtMs }, observed };
}

/** The Lease as written on graceful shutdown: no holder, so a standby takes it on its next try. */
export function releasedLease(record: LeaseRecord, nowMs: number): LeaseRecord {
  return { ...record, holderIdentity: '', leaseDurationSeconds: 1, renewTimeMs: nowMs };
}
