import { formatDuration, formatElapsed } from '../../util/duration.js';
import type { RtoRow, RtoTable } from '../rto.js';
import { alignColumns, type Colors } from '../style.js';

/**
 * The RTO table (src/report/rto.ts) as each report shows it: JSON objects for `status` and
 * `report --format json`, lines for `status`, a table for markdown, and the rows as a list with
 * their words for the renderers that go row by row (junit).
 */

/** One row of the table with what it is about, in plan order: the plan, its stages, its services. */
export interface RtoEntry {
  kind: 'plan' | 'stage' | 'service';
  name: string;
  row: RtoRow;
  /** The plan and stages only. */
  approval_wait_ms?: number;
}

export function rtoEntries(table: RtoTable, plan: string): RtoEntry[] {
  return [
    ...(table.plan
      ? [
          {
            kind: 'plan' as const,
            name: plan,
            row: table.plan,
            approval_wait_ms: table.plan.approval_wait_ms,
          },
        ]
      : []),
    ...Object.entries(table.stages).map(([name, row]) => ({
      kind: 'stage' as const,
      name,
      row,
      approval_wait_ms: row.approval_wait_ms,
    })),
    ...Object.entries(table.services).map(([name, row]) => ({ kind: 'service' as const, name, row })),
  ];
}

/** `rto: { rto_ms, achieved_ms, met }` (SPEC section 10), with the approval wait and a note where there are. */
export function rtoJson(row: RtoRow & { approval_wait_ms?: number }): Record<string, unknown> {
  return {
    rto_ms: row.rto_ms,
    achieved_ms: row.achieved_ms,
    met: row.met,
    ...(row.approval_wait_ms !== undefined ? { approval_wait_ms: row.approval_wait_ms } : {}),
    ...(row.note !== undefined ? { note: row.note } : {}),
  };
}

/** "met", "MISSED" or "open": whether the target held. */
export function metWord(row: RtoRow): string {
  return row.met === true ? 'met' : row.met === false ? 'MISSED' : 'open';
}

/** What was achieved: a time, or why there is none. */
export function achievedWords(row: RtoRow): string {
  return row.achieved_ms !== null ? formatElapsed(row.achieved_ms) : `- (${row.note ?? 'not reached'})`;
}

/** The sentence a breach is reported with: `service api: 41.2s against a target of 30s`. */
export function breachWords(entry: RtoEntry): string {
  const { row } = entry;
  const what = `${entry.kind} ${entry.name}`;
  return row.achieved_ms !== null
    ? `${what}: ${formatElapsed(row.achieved_ms)} against a target of ${formatDuration(row.rto_ms)}`
    : `${what}: target ${formatDuration(row.rto_ms)} missed (${row.note ?? 'not reached'})`;
}

/** `status` text: the targets, aligned, a missed one in red; nothing when the plan sets none. */
export function rtoTextLines(table: RtoTable, plan: string, c: Colors): string[] {
  const entries = rtoEntries(table, plan);
  const waits =
    table.approval_wait_ms > 0 ? [`approval waits: ${formatElapsed(table.approval_wait_ms)}`] : [];
  if (entries.length === 0) return waits.length > 0 ? ['', ...waits] : [];
  const rows = [['RTO TARGET', 'RTO', 'ACHIEVED', 'MET'].map((h) => c.bold(h))];
  for (const entry of entries) {
    const met = metWord(entry.row);
    rows.push([
      `${entry.kind} ${entry.name}`,
      formatDuration(entry.row.rto_ms),
      achievedWords(entry.row),
      entry.row.met === false ? c.red(met) : met,
    ]);
  }
  return ['', ...alignColumns(rows), ...waits.map((line) => `${line} (counted in the plan's time)`)];
}
