import { describe } from 'vitest';
import { MemoryLeaseBackend, MemoryLeaseStore } from '../../src/leader/memory-lease-store.js';
import { leaseStoreContract } from './lease-store-contract.js';

describe('MemoryLeaseStore passes the LeaseStore contract', () => {
  leaseStoreContract(async (name) => {
    const backend = new MemoryLeaseBackend();
    return [new MemoryLeaseStore(backend, name), new MemoryLeaseStore(backend, name)];
  });
});
