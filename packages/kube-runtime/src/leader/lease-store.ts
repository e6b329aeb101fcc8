import { type CoordinationV1Api, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { httpStatus, KubeApiError } from '../errors/errors.js';

/** One coordination.k8s.io/v1 Lease as election and health reporting see it. */
export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTimeMs?: number;
  renewTimeMs?: number;
  leaseTransitions: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Set by the store; an update carrying a stale one fails with LeaseConflictError. */
  resourceVersion?: string;
}

/** Someone else wrote the Lease since it was read (HTTP 409): re-read and decide again. */
export class LeaseConflictError extends Error {
  constructor(readonly lease: string) {
    super(`lease ${lease} changed since it was read`);
    this.name = 'LeaseConflictError';
  }
}

/** One named Lease, behind an interface so election is tested against a fake that passes the same contract. */
export interface LeaseStore {
  readonly name: string;
  /** undefined when it does not exist. */
  get(): Promise<LeaseRecord | undefined>;
  /** Fails with LeaseConflictError when it already exists. */
  create(record: LeaseRecord): Promise<LeaseRecord>;
  /** Optimistic: fails with LeaseConflictError when `record.resourceVersion` is stale. */
  update(record: LeaseRecord): Promise<LeaseRecord>;
}

/** A Lease in the API server. */
export class KubeLeaseStore implements LeaseStore {
  constructor(
    private readonly api: CoordinationV1Api,
    private readonly namespace: string,
    readonly name: string,
  ) {}

  async get(): Promise<LeaseRecord | undefined> {
    try {
      return fromLease(await this.api.readNamespacedLease({ name: this.name, namespace: this.namespace }));
    } catch (error) {
      if (httpStatus(error) === 404) return undefined;
      throw new KubeApiError(`get lease ${this.namespace}/${this.name}`, httpStatus(error), error);
    }
  }

  async create(record: LeaseRecord): Promise<LeaseRecord> {
    try {
      const body = toLease(this.name, this.namespace, record);
      return fromLease(await this.api.createNamespacedLease({ namespace: this.namespace, body }));
    } catch (error) {
      throw this.failure('create', error);
    }
  }

  async update(record: LeaseRecord): Promise<LeaseRecord> {
    try {
      const body = toLease(this.name, this.namespace, record);
      return fromLease(
        await this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body }),
      );
    } catch (error) {
      throw this.failure('update', error);
    }
  }

  private failure(verb: string, error: unknown): Error {
    const status = httpStatus(error);
    if (status === 409) return new LeaseConflictError(this.name);
    return new KubeApiError(`${verb} lease ${this.namespace}/${this.name}`, status, error);
  }
}

function toLease(name: string, namespace: string, record: LeaseRecord): V1Lease {
  const lease: V1Lease = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      leaseTransitions: record.leaseTransitions,
    },
  };
  const meta = lease.metadata!;
  const spec = lease.spec!;
  if (record.resourceVersion) meta.resourceVersion = record.resourceVersion;
  if (record.labels) meta.labels = record.labels;
  if (record.annotations) meta.annotations = record.annotations;
  // MicroTime: the API server rejects millisecond-precision timestamps in these fields.
  if (record.acquireTimeMs !== undefined) spec.acquireTime = new V1MicroTime(record.acquireTimeMs);
  if (record.renewTimeMs !== undefined) spec.renewTime = new V1MicroTime(record.renewTimeMs);
  return lease;
}

function fromLease(lease: V1Lease): LeaseRecord {
  const record: LeaseRecord = {
    holderIdentity: lease.spec?.holderIdentity ?? '',
    leaseDurationSeconds: lease.spec?.leaseDurationSeconds ?? 0,
    leaseTransitions: lease.spec?.leaseTransitions ?? 0,
  };
  const acquire = toMs(lease.spec?.acquireTime);
  const renew = toMs(lease.spec?.renewTime);
  if (acquire !== undefined) record.acquireTimeMs = acquire;
  if (renew !== undefined) record.renewTimeMs = renew;
  if (lease.metadata?.labels) record.labels = lease.metadata.labels;
  if (lease.metadata?.annotations) record.annotations = lease.metadata.annotations;
  if (lease.metadata?.resourceVersion) record.resourceVersion = lease.metadata.resourceVersion;
  return record;
}

function toMs(value: Date | string | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}
