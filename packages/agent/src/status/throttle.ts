import type { WireKubePeerStatus } from '@wirekube/crd-types';

/** lastHandshake alone moves every two minutes on every node; writing it each time would flood every watcher. */
export const HANDSHAKE_WRITE_INTERVAL_MS = 10 * 60_000;

export interface WrittenStatus {
  status: WireKubePeerStatus;
  atMs: number;
}

/**
 * Whether a status write is due. Any change other than lastHandshake is written at once (connected, NAT type,
 * transports...); a lastHandshake that moved alone waits until ten minutes after the previous write.
 * Each write fans out to every agent in the cluster, so "only when it changed" is a scaling rule, not a nicety.
 */
export function statusWriteDue(
  previous: WrittenStatus | undefined,
  next: WireKubePeerStatus,
  nowMs: number,
): boolean {
  if (!previous) return true;
  const { lastHandshake: before, ...restBefore } = previous.status;
  const { lastHandshake: after, ...restAfter } = next;
  if (!sameJson(restBefore, restAfter)) return true;
  if (before === after) return false;
  if (before === undefined || after === undefined) return true;
  return nowMs - previous.atMs >= HANDSHAKE_WRITE_INTERVAL_MS;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}
