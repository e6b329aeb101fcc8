export { decideLease, type LeaseDecision, type LeaseObservation, releasedLease } from './decide.js';
export { LeaseElector, type LeaseElectorOptions } from './elector.js';
export { KubeLeaseStore, LeaseConflictError, type LeaseRecord, type LeaseStore } from './lease-store.js';
