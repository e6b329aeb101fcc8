/**
 * What one `set(desired)` changed on a kernel surface, the same shape for every surface: `added` and `updated`
 * name desired items, `removed` names what was found and is no longer desired. A second `set` of the same
 * desired state returns `changed: false` with empty lists.
 */
export interface SetResult<Added, Removed = Added, Updated = Added> {
  changed: boolean;
  added: Added[];
  removed: Removed[];
  updated: Updated[];
}

/**
 * A kernel surface WireKube owns, with one verb. `set` is idempotent and level-triggered: it reads what the
 * kernel has, changes only what differs (also what another daemon changed), and removes what is ours but not
 * desired. `set` of the empty desired state removes everything of ours: that is the whole of cleanup.
 */
export interface Applier<Desired, Result extends SetResult<unknown, unknown, unknown>> {
  set(desired: Desired): Promise<Result>;
}

/** Builds a result; `changed` is derived, so no surface can forget to set it. */
export function setResult<A, R = A, U = A>(
  added: A[] = [],
  removed: R[] = [],
  updated: U[] = [],
): SetResult<A, R, U> {
  return { changed: added.length + removed.length + updated.length > 0, added, removed, updated };
}
