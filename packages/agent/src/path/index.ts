export { directPossible, reachability } from './eligibility.js';
export { initialState, next, settledPath } from './machine.js';
export { attemptSlots } from './schedule.js';
export type {
  AttemptSlots,
  Path,
  PathChangeReason,
  PathDecision,
  PathObservation,
  PathState,
  PathTimers,
  ProbeResult,
  ProxyActivity,
  Reachability,
} from './types.js';
