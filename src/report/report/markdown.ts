import type { RunSnapshot, ServiceState } from '../../run/state/journal/state.js';
import { formatDuration, formatElapsed } from '../../util/duration.js';
import type { RtoTable } from '../rto.js';
import { RESULT_WORDS } from '../run/words.js';
import { achievedWords, breachWords, type RtoEntry, rtoEntries } from './rto-view.js';
import { drillMark, teardownNote } from './status.js';
import { markdownCode, markdownCodeBlock } from './text.js';

/**
 * `restore report --format markdown`: the recovery time objectives first (how long it took,
 * against what target), then a results table and a Mermaid Gantt timeline of the run (where the
 * time went), for an incident write-up; renders on GitHub. Clock times are UTC in the text and on
 * the chart's axis alike; service output and messages are shown as text, never as markup.
 */
export function renderReportMarkdown(
  run: RunSnapshot,
  tails: ReadonlyMap<string, readonly string[]> = new Map(),
  rto?: RtoTable,
): string {
  const out = [`# ${drillMark(run)}Restoration report: \`${run.plan}\``, ''];
  if (rto) out.push(...rtoSection(run, rto));
  out.push(`- **Run:** \`${run.run}\``);
  if (run.teardown) out.push(`- **Drill:** a rehearsal${teardownNote(run)}`);
  out.push(
    `- **Result:** ${run.state}${run.awaiting ? ` (waiting for approval of stage \`${run.awaiting}\`)` : ''}`,
  );
  out.push(`- **Started:** ${clock(run.started_at)}`);
  out.push(`- **Finished:** ${run.finished_at ? clock(run.finished_at) : '-'}`);
  if (run.finished_at) out.push(`- **Duration:** ${formatElapsed(run.duration_ms)}`);
  out.push(`- **Plan digest:** \`${run.digest}\``);
  for (const approval of run.approvals) {
    out.push(
      `- **Approved:** stage \`${approval.stage}\` by ${markdownCode(approval.approver)} at ${clock(approval.time)}`,
    );
  }
  out.push(
    '',
    '## Services',
    '',
    '| Service | Stage | Result | Attempts | Duration | Notes |',
    '|---|---|---|---|---|---|',
  );
  for (const [name, s] of Object.entries(run.services)) {
    out.push(
      `| \`${name}\` | \`${s.stage}\` | ${resultWord(s)} | ${s.attempts} | ${formatElapsed(s.duration_ms)} | ${markdownCode(s.reason ?? '')} |`,
    );
  }
  const warnings = run.warnings ?? [];
  if (warnings.length > 0) {
    out.push('', '## Warnings', '');
    for (const warning of warnings)
      out.push(`- ${clock(warning.time)} \`${warning.service}\`: ${markdownCode(warning.message)}`);
  }
  out.push('', '## Timeline', '', '```mermaid', renderGantt(run, rto), '```', '');
  const failed = Object.entries(run.services).filter(
    ([name, s]) => s.result === 'failed' && tails.get(name)?.length,
  );
  if (failed.length > 0) {
    out.push('## Last output of failed services', '');
    for (const [name] of failed) out.push(`### \`${name}\``, '', markdownCodeBlock(tails.get(name)!), '');
  }
  return out.join('\n');
}

/**
 * The RTO table: every target with what was achieved; a missed one is a bold row marked ❌ and
 * named again in a caution box above the table (GitHub has no row colours). Approval waits are a
 * column of their own: they count in the plan's time, and a reader wants to see how much of it
 * was people deciding.
 */
function rtoSection(run: RunSnapshot, rto: RtoTable): string[] {
  const entries = rtoEntries(rto, run.plan);
  const out = ['## Recovery time objectives', ''];
  const took = run.finished_at ? `The run took ${formatElapsed(run.duration_ms)}` : 'The run has taken';
  const waits = `approval waits ${formatElapsed(rto.approval_wait_ms)}`;
  if (entries.length === 0) {
    if (!run.finished_at) out.push(`The plan sets no RTO target (\`rto:\`); ${waits} so far.`, '');
    else out.push(`The plan sets no RTO target (\`rto:\`). ${took}, of which ${waits}.`, '');
    return out;
  }
  const missed = entries.filter((entry) => entry.row.met === false);
  if (missed.length > 0) {
    out.push('> [!CAUTION]');
    for (const entry of missed) out.push(`> **RTO missed:** ${markdownCode(breachWords(entry))}  `);
    out.push('');
  }
  out.push('| Target | RTO | Achieved | Met | Approval waits |', '|---|---|---|---|---|');
  for (const entry of entries) out.push(rtoRow(entry));
  out.push(
    '',
    `${run.finished_at ? took : `${took} ${formatElapsed(run.duration_ms)} so far`}; approval waits (${formatElapsed(rto.approval_wait_ms)} in all) count in the plan's time and are shown apart.`,
    '',
  );
  return out;
}

function rtoRow(entry: RtoEntry): string {
  const { row } = entry;
  const met = row.met === true ? '✅ met' : row.met === false ? '❌ MISSED' : '⏳ open';
  const cells = [
    `${entry.kind} \`${entry.name}\``,
    formatDuration(row.rto_ms),
    row.achieved_ms !== null ? formatElapsed(row.achieved_ms) : markdownCode(achievedWords(row)),
    met,
    entry.approval_wait_ms !== undefined ? formatElapsed(entry.approval_wait_ms) : '-',
  ];
  // A breach stands out: the whole row bold.
  const shown = row.met === false ? cells.map((cell) => `**${cell}**`) : cells;
  return `| ${shown.join(' | ')} |`;
}

function resultWord(s: ServiceState): string {
  return s.result === 'pending' || s.result === 'running' ? s.result : RESULT_WORDS[s.result];
}

/** "2026-12-01 21:00:00.123 UTC": an ISO time, readable. */
export function clock(iso: string): string {
  return `${iso.replace('T', ' ').replace(/Z$/, '')} UTC`;
}

/**
 * A Mermaid Gantt chart: one bar per service that ran, from its start to healthy or failed, and a
 * milestone for each service blocked or skipped, when that was decided. Times are written as UTC
 * clock readings (Mermaid reads them as local ones and the axis shows them unchanged), so the axis
 * matches the report's text in every viewer's time zone; a short run's axis shows milliseconds.
 */
export function renderGantt(run: RunSnapshot, rto?: RtoTable): string {
  const startedAt = Date.parse(run.started_at);
  const span = Math.max(
    run.duration_ms,
    ...Object.values(run.services).map((s) => at(s.finished_at) - startedAt),
  );
  const lines = [
    'gantt',
    `  title ${run.plan} restoration, run ${run.run} (UTC)`,
    '  dateFormat YYYY-MM-DD HH:mm:ss.SSS',
    `  axisFormat ${span < 10_000 ? '%H:%M:%S.%L' : span < 3_600_000 ? '%H:%M:%S' : '%H:%M'}`,
  ];
  const waits = approvalBars(run);
  if (waits.length > 0) lines.push('  section approvals', ...waits);
  const byStage = new Map<string, string[]>();
  for (const [name, s] of Object.entries(run.services)) {
    const task = ganttTask(name, s, startedAt, rto?.services[name]?.met === false);
    if (!task) continue;
    const list = byStage.get(s.stage) ?? [];
    list.push(task);
    byStage.set(s.stage, list);
  }
  for (const [stage, tasks] of byStage) lines.push(`  section ${stage}`, ...tasks);
  const deadlines = rto ? missedDeadlines(run, rto) : [];
  if (deadlines.length > 0) lines.push('  section missed targets', ...deadlines);
  return lines.join('\n');
}

/** Each approval wait as a bar of its own: from the gate reached to the stage starting. */
function approvalBars(run: RunSnapshot): string[] {
  const bars: string[] = [];
  for (const [name, stage] of Object.entries(run.stages)) {
    if (stage.gate_at === null) continue;
    const from = at(stage.gate_at);
    const to = Math.max(from + 1, from + stage.approval_wait_ms);
    const label = `approval of ${name} ${formatElapsed(stage.approval_wait_ms)}`.replace(/[:;#]/g, ' ');
    bars.push(`    ${label} :active, ${utc(from)}, ${utc(to)}`);
  }
  return bars;
}

/**
 * Where a missed target's time ran out, as a milestone: the run's start plus the plan's target,
 * a stage's start plus its target. Only missed ones: a target far beyond a short run would squeeze
 * every bar into a corner of the chart.
 */
function missedDeadlines(run: RunSnapshot, rto: RtoTable): string[] {
  const out: string[] = [];
  for (const entry of rtoEntries(rto, run.plan)) {
    if (entry.row.met !== false || entry.kind === 'service') continue;
    const from = entry.kind === 'plan' ? run.started_at : run.stages[entry.name]?.started_at;
    if (!from) continue;
    const when = at(from) + entry.row.rto_ms;
    const label = `${entry.kind} ${entry.name} RTO ${formatDuration(entry.row.rto_ms)} passed`.replace(
      /[:;#]/g,
      ' ',
    );
    out.push(`    ${label} :milestone, crit, ${utc(when)}, ${utc(when + 1)}`);
  }
  return out;
}

function ganttTask(name: string, s: ServiceState, runStart: number, late = false): string | undefined {
  if (s.result === 'blocked' || s.result === 'skipped') {
    const when = s.finished_at ? at(s.finished_at) : runStart;
    const label = `${name} ${s.result}${s.reason ? ` (${s.reason})` : ''}`.replace(/[:;#]/g, ' ');
    return `    ${label} :milestone, ${s.result === 'blocked' ? 'crit, ' : ''}${utc(when)}, ${utc(when + 1)}`;
  }
  if (!s.started_at) return undefined;
  const start = at(s.started_at);
  const end = Math.max(start + 1, s.finished_at ? at(s.finished_at) : start + s.duration_ms);
  const tag =
    s.result === 'failed' || late
      ? 'crit, '
      : s.result === 'already-healthy'
        ? 'done, '
        : s.result === 'running'
          ? 'active, '
          : '';
  return `    ${name} :${tag}${utc(start)}, ${utc(end)}`;
}

const at = (iso: string | null) => (iso ? Date.parse(iso) : 0);

/** Epoch ms as a UTC clock reading in the chart's dateFormat. */
function utc(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/Z$/, '');
}
