import type { ApplySummary } from './types.js';

/** One surface failed during an apply; the others were still set, and `summary` says what they changed. */
export class DataplaneApplyError extends Error {
  constructor(
    readonly failures: ReadonlyArray<{ surface: string; error: unknown }>,
    readonly summary: ApplySummary,
  ) {
    super(
      `dataplane apply incomplete: ${failures
        .map((f) => `${f.surface}: ${f.error instanceof Error ? f.error.message : String(f.error)}`)
        .join('; ')}`,
    );
    this.name = 'DataplaneApplyError';
  }
}
