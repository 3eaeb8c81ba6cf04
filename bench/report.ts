import { cpus, loadavg, platform, release } from 'node:os';
import { type BenchResult, meetsTarget } from './section.js';

/** How the results are shown: an aligned table for people, or JSON for scripts and CI history. */

export interface Machine {
  cpu: string;
  cpus: number;
  node: string;
  os: string;
  /** 1-minute load average before the run: other work on the machine skews wall-clock figures. */
  load: number;
}

export interface SectionFailure {
  section: string;
  error: string;
}

export interface BenchReport {
  machine: Machine;
  runs: number;
  results: BenchResult[];
  failures: SectionFailure[];
}

export function machine(): Machine {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cpus: list.length,
    node: process.version,
    os: `${platform()} ${release()}`,
    load: loadavg()[0] ?? 0,
  };
}

export function renderJson(report: BenchReport): string {
  const results = report.results.map((result) => ({ ...result, met: meetsTarget(result) ?? null }));
  return `${JSON.stringify({ ...report, results }, null, 2)}\n`;
}

export function renderText(report: BenchReport): string {
  const { machine: m } = report;
  const header = ['benchmark', 'median', 'min', 'max', 'target', 'verdict'];
  const rows = report.results.map((result) => [
    result.name,
    value(result, result.median),
    value(result, result.min),
    value(result, result.max),
    result.target ? `${result.target.op} ${value(result, result.target.value)}` : '',
    verdict(result),
  ]);
  const lines = [
    `machine: ${m.cpu} x ${m.cpus}, node ${m.node}, ${m.os}, load average ${m.load.toFixed(2)} at start`,
    `runs:    median of ${report.runs} (BENCH_RUNS), after one warm-up run`,
    '',
    ...table([header, ...rows]),
    ...summary(report),
  ];
  return `${lines.join('\n')}\n`;
}

function value(result: BenchResult, figure: number | undefined): string {
  if (figure === undefined) return '-';
  if (result.unit === 'MiB') return `${figure.toFixed(1)} MiB`;
  if (result.unit === 'count') return String(figure);
  if (result.unit === 'us') return `${figure.toFixed(1)} µs`;
  return result.unit === 'ms' ? `${figure.toFixed(1)} ms` : `${figure.toFixed(2)}x`;
}

function verdict(result: BenchResult): string {
  const met = meetsTarget(result);
  if (met === undefined) return '';
  return met ? 'ok' : 'MISSED';
}

/** Columns padded to their widest cell; numeric columns right-aligned so digits line up. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const numeric = new Set([1, 2, 3, 4]);
  return rows.map((row) =>
    row
      .map((cell, column) =>
        numeric.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      )
      .join('  ')
      .trimEnd(),
  );
}

function summary(report: BenchReport): string[] {
  const missed = report.results.filter((result) => meetsTarget(result) === false);
  const lines = [''];
  if (missed.length === 0) lines.push('all targets met');
  else lines.push(`MISSED ${missed.length} target(s): ${missed.map((result) => result.name).join(', ')}`);
  for (const failure of report.failures) lines.push(`FAILED section ${failure.section}: ${failure.error}`);
  return lines;
}
