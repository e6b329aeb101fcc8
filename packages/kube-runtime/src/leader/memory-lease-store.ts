import { LeaseConflictError, type LeaseRecord, type LeaseStore } from './lease-store.js';

/**
 * An in-memory Lease with the API server's optimistic concurrency (resourceVersion). Several stores can share
 * one `MemoryLeaseBackend` to stand for several processes talking to one API server.
 */
export class MemoryLeaseBackend {
  private readonly leases = new Map<string, LeaseRecord>();
  private version = 0;
  /** Makes the next calls fail as an unreachable API server would. */
  unavailable = false;

  read(name: string): LeaseRecord | undefined {
    const lease = this.leases.get(name);
    return lease ? structuredClone(lease) : undefined;
  }

  write(name: string, record: LeaseRecord, mustExist: boolean): LeaseRecord {
    if (this.unavailable) throw new Error('connect ECONNREFUSED (fake API server down)');
    const current = this.leases.get(name);
    if (mustExist ? current?.resourceVersion !== record.resourceVersion : current !== undefined) {
      throw new LeaseConflictError(name);
    }
    const stored = { ...structuredClone(record), resourceVersion: String(++this.version) };
    this.leases.set(name, stored);
    return structuredClone(stored);
  }
}

export class MemoryLeaseStore implements LeaseStore {
  constructor(
    private readonly backend: MemoryLeaseBackend,
    readonly name: string,
  ) {}

  async get(): Promise<LeaseRecord | undefined> {
    if (this.backend.unavailable) throw new Error('connect ECONNREFUSED (fake API server down)');
    return this.backend.read(this.name);
  }

  async create(record: LeaseRecord): Promise<LeaseRecord> {
    return this.backend.write(this.name, record, false);
  }

  async update(record: LeaseRecord): Promise<LeaseRecord> {
    if (!this.backend.read(this.name)) throw new LeaseConflictError(this.name);
    return this.backend.write(this.name, record, true);
  }
}
