/**
 * The contract between run.ts and the benchmark sections. A section is one file under bench/
 * exporting a `Section`; run.ts only registers it, so adding one (e.g. apply engine overhead)
 * touches nothing else.
 */

export interface BenchContext {
  /** Repository root: commands run from here, as a user would run them. */
  root: string;
  /** Absolute path of bin/restore.js. */
  bin: string;
  /** Node binary running the benchmarks, reused for every child so versions cannot differ. */
  node: string;
  /** Scratch directory for generated plans and outputs, removed after the run. */
  tmpDir: string;
  /** Timed runs per benchmark (BENCH_RUNS, default 7). */
  runs: number;
  /** Progress for the person waiting; goes to stderr so that `--json` stays clean. */
  log(message: string): void;
}

export interface Target {
  /** `<` for time budgets, `<=` for ratios, `>=` for speed-ups. */
  op: '<' | '<=' | '>=';
  value: number;
}

export interface BenchResult {
  section: string;
  name: string;
  unit: 'ms' | 'us' | 'ratio' | 'MiB' | 'count';
  median: number;
  /** Absent for derived figures such as a ratio of medians. */
  min?: number;
  max?: number;
  /** Raw samples in run order, kept for the JSON output. */
  samples?: number[];
  target?: Target;
}

export interface Section {
  name: string;
  description: string;
  /**
   * Runs only when named (`npm run bench -- fuzz`): for sections that take many minutes, so that
   * the default run stays a check one waits for.
   */
  optIn?: boolean;
  run(context: BenchContext): BenchResult[] | Promise<BenchResult[]>;
}

/** Whether a result meets its target; undefined when it has none (a baseline). */
export function meetsTarget(result: BenchResult): boolean | undefined {
  const { target } = result;
  if (!target) return undefined;
  if (target.op === '>=') return result.median >= target.value;
  return target.op === '<' ? result.median < target.value : result.median <= target.value;
}

/**
 * The sections a run names, in registry order (so that output is always laid out the same way);
 * with no names, every section but those that run only when named.
 */
export function selectSections(all: readonly Section[], names: readonly string[]): Section[] {
  return all.filter((section) =>
    names.length === 0 ? section.optIn !== true : names.includes(section.name),
  );
}
