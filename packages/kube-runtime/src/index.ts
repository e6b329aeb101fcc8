/**
 * @wirekube/kube-runtime: what every WireKube daemon needs from Kubernetes — a self-healing informer, backoff,
 * a reconcile loop, event recording and merge-patch helpers.
 *
 * @example
 * ```ts
 * import { ReconcileLoop, ResilientInformer } from '@wirekube/kube-runtime';
 *
 * const loop = new ReconcileLoop({
 *   name: 'peers',
 *   log,
 *   resyncMs: 300_000,
 *   reconciler: {
 *     async reconcile(signal) {
 *       await applyEverything(signal);
 *       return { requeueAfterMs: 5_000 }; // read the device back in 5 s
 *     },
 *   },
 * });
 * const peers = new ResilientInformer({ name: 'wirekubepeers', informer, log, onChange: () => loop.trigger('peer') });
 * await peers.start();
 * loop.start();
 * // on shutdown
 * await loop.stop();
 * await peers.stop();
 * ```
 */
export { Backoff, sleep } from './backoff/backoff.js';
export { type Clock, systemClock } from './clock/clock.js';
export { errorMessage, httpStatus, KubeApiError } from './errors/errors.js';
export {
  EventRecorder,
  type EventRecorderOptions,
  type EventType,
  type InvolvedObject,
} from './events/recorder.js';
export {
  type InformerLike,
  type InformerVerb,
  ResilientInformer,
  type ResilientInformerOptions,
} from './informer/informer.js';
export { mergePatchFor, mergePatchOptions } from './patch/merge-patch.js';
export {
  ReconcileLoop,
  type ReconcileLoopOptions,
  type ReconcileOutcome,
  type ReconcileOutcomeSink,
  type ReconcileResult,
  type Reconciler,
} from './reconcile/loop.js';
