/** One measured figure, as the runner prints it in the table and writes it to bench/results/. */
export interface Figure {
  /** The benchmark it belongs to, e.g. `http`. */
  bench: string;
  /** What was measured, e.g. `req/s`, `p99 ms`. */
  metric: string;
  /** The median over `runs`. */
  value: number;
  unit: string;
  /** Every run's value, so a reader sees the spread behind the median. */
  runs: number[];
  /** The target in words, e.g. `< 20 ms`; absent when the figure is reported only. */
  target?: string;
  /** Whether the median meets `target`. */
  met?: boolean;
  /** What limits the figure, or how it was taken, when the table alone would mislead. */
  note?: string;
}

/** A benchmark module: `bench/run.ts` imports each and runs the ones asked for. */
export interface Bench {
  name: string;
  /** What it measures, one line. */
  description: string;
  run(options: { runs: number; quick: boolean }): Promise<Figure[]>;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The figure of `bench` whose value is the median of `f.runs`. */
export function measured(bench: string, f: Omit<Figure, 'bench' | 'value'>): Figure {
  return { bench, value: median(f.runs), ...f };
}
