/**
 * Why the loop will run its next pass, each with the instant it is due (ms on the loop's clock). A pass is
 * level-triggered — it reconciles everything — so one pass answers every reason that is due; the loop keeps a
 * single timer for the earliest.
 */
export interface Wakeups {
  /** A watch event or an explicit request, debounced. */
  trigger?: number;
  /** The reconciler asked for it (`requeueAfterMs`). */
  requeue?: number;
  /** The last pass threw; the backoff delay. */
  retry?: number;
  /** The safety-net resync. */
  resync?: number;
}

export type WakeReason = keyof Wakeups;

const REASONS: readonly WakeReason[] = ['trigger', 'requeue', 'retry', 'resync'];

/** The earliest due wake-up and every reason due at that instant; undefined when nothing is scheduled. */
export function earliestWake(wakeups: Wakeups): { at: number; reasons: WakeReason[] } | undefined {
  let at: number | undefined;
  for (const value of Object.values(wakeups)) {
    if (value !== undefined && (at === undefined || value < at)) at = value;
  }
  if (at === undefined) return undefined;
  const reasons = REASONS.filter((k) => wakeups[k] === at);
  return { at, reasons };
}

/** Adds a wake-up for `reason`, keeping an earlier one already scheduled (earliest wins). */
export function wakeAt(wakeups: Wakeups, reason: WakeReason, at: number): Wakeups {
  const current = wakeups[reason];
  return { ...wakeups, [reason]: current === undefined ? at : Math.min(current, at) };
}
