/**
 * The shape every lab benchmark reports: one JSON object on the last line of its output, a list of figures,
 * each with the baseline measured in the same run and, where the project has one, its target. scripts/bench.mjs
 * collects these into bench/results.json.
 */
import { round } from './stats.js';

export interface Target {
  /** What the target constrains: the figure itself or its ratio to the baseline. */
  on: 'value' | 'ratio';
  op: '<=' | '>=';
  value: number;
  /** Where the target comes from (issue, DESIGN.md). */
  source: string;
}

export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline: { what: string; value: number; unit: string } | null;
  /** value / baseline.value */
  ratio: number | null;
  target: Target | null;
  met: boolean | null;
  /** Samples behind the median, and anything that explains the number. */
  samples?: number[];
  note?: string;
}

export interface FigureInput {
  name: string;
  value: number;
  unit: string;
  baseline?: { what: string; value: number; unit?: string };
  target?: Target;
  samples?: readonly number[];
  note?: string;
}

export function figure(input: FigureInput): Figure {
  const baseline = input.baseline
    ? {
        what: input.baseline.what,
        value: round(input.baseline.value, 3),
        unit: input.baseline.unit ?? input.unit,
      }
    : null;
  const ratio = baseline && baseline.value !== 0 ? round(input.value / baseline.value, 3) : null;
  const target = input.target ?? null;
  let met: boolean | null = null;
  if (target) {
    const subject = target.on === 'ratio' ? ratio : input.value;
    met =
      subject === null || !Number.isFinite(subject)
        ? false
        : target.op === '<='
          ? subject <= target.value
          : subject >= target.value;
  }
  return {
    name: input.name,
    value: round(input.value, 3),
    unit: input.unit,
    baseline,
    ratio,
    target,
    met,
    ...(input.samples ? { samples: input.samples.map((s) => round(s, 3)) } : {}),
    ...(input.note ? { note: input.note } : {}),
  };
}

export interface BenchReport {
  bench: string;
  quick: boolean;
  figures: Figure[];
  details?: Record<string, unknown>;
}

/** Prints the report as the last line of output (progress goes to stderr). */
export function emit(report: BenchReport): void {
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

/** `--quick` (or BENCH_QUICK=1): shorter windows and fewer runs, for development; the real figures use neither. */
export const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';

export function progress(bench: string, message: string): void {
  process.stderr.write(`[${bench}] ${message}\n`);
}
