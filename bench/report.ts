// One line per measured figure, read by bench/run-all.ts to write docs/performance.md. Every
// script prints its human-readable lines as before and, for each row of the performance table
// it measures, one `report()` line.

export const ROW_PREFIX = 'BENCH-ROW ';

export interface BenchRow {
  /** The figure, worded as in the performance table, e.g. "API create → guest agent ready". */
  figure: string;
  /** The measured value, already formatted with its unit, e.g. "p50 812 ms". */
  value: string;
  /** The baseline measured in the same run, formatted, or null when the figure has none. */
  baseline: string | null;
  /** value / baseline when both are numbers of the same kind, else null. */
  ratio: number | null;
  /** The target, e.g. "≤ 1.15 and overhead ≤ 120 ms p50". */
  target: string;
  /** Whether the target was met in this run. */
  met: boolean;
}

let stopped = false;

/**
 * From now on no row is printed: the script was told to stop (its budget ran out) and is tearing
 * its platform down, so what its main flow still measures (creates failing as the manager closes)
 * is not a figure.
 */
export function stopReporting(): void {
  stopped = true;
}

export function report(row: BenchRow): void {
  if (stopped) {
    console.error(`not reported (stopped): ${row.figure}`);
    return;
  }
  console.log(ROW_PREFIX + JSON.stringify(row));
}
