/** The prober's view of one (gateway, peer) check. */
export interface HealthState {
  /** undefined until the first verdict: the first pass, or failureThreshold failures. */
  healthy?: boolean;
  failures: number;
  message: string;
  lastProbeMs?: number;
  /** What the Lease last said, and when it was written. */
  written?: { healthy: boolean; atMs: number };
}

export interface HealthSettings {
  intervalMs: number;
  failureThreshold: number;
  /** A healthy Lease is renewed this often when nothing changes. */
  renewMs: number;
}

export type HealthInput =
  | { kind: 'probed'; ok: boolean; error: string; atMs: number }
  | { kind: 'written'; healthy: boolean; atMs: number };

export type HealthEffect = { kind: 'write-lease'; healthy: boolean; message: string; lastProbeMs: number };

export interface HealthStep {
  state: HealthState;
  effects: HealthEffect[];
  /** When the next probe is due. */
  wakeAt: number;
}

export function initialHealth(): HealthState {
  return { failures: 0, message: '' };
}

/**
 * Counts consecutive failures up to failureThreshold before saying unhealthy; one success says healthy. The
 * Lease is written when the verdict changes, and renewed while healthy no more often than `renewMs`: never on
 * every probe when nothing changed.
 */
export function nextHealth(state: HealthState, input: HealthInput, settings: HealthSettings): HealthStep {
  if (input.kind === 'written') {
    const next = { ...state, written: { healthy: input.healthy, atMs: input.atMs } };
    return { state: next, effects: [], wakeAt: (state.lastProbeMs ?? input.atMs) + settings.intervalMs };
  }
  const failures = input.ok ? 0 : state.failures + 1;
  const healthy = input.ok ? true : failures >= settings.failureThreshold ? false : state.healthy;
  const next: HealthState = {
    ...state,
    failures,
    message: input.ok ? '' : input.error,
    lastProbeMs: input.atMs,
  };
  if (healthy !== undefined) next.healthy = healthy;
  const effects: HealthEffect[] = [];
  if (healthy !== undefined) {
    const changed = state.written?.healthy !== healthy;
    // Renewed only by a passing probe: failures below the threshold neither renew nor flip the verdict.
    const renewDue =
      input.ok && (state.written === undefined || input.atMs - state.written.atMs >= settings.renewMs);
    if (changed || renewDue) {
      effects.push({
        kind: 'write-lease',
        healthy,
        message: healthy ? '' : next.message,
        lastProbeMs: input.atMs,
      });
    }
  }
  return { state: next, effects, wakeAt: input.atMs + settings.intervalMs };
}
