import type { RunSnapshot, ServiceState } from '../../run/state/journal/state.js';
import { formatElapsed } from '../../util/duration.js';
import { RESULT_WORDS } from '../run/words.js';
import { drillMark, teardownNote } from './status.js';
import { markdownCode, markdownCodeBlock } from './text.js';

/**
 * `restore report --format markdown`: a results table and a Mermaid Gantt timeline of the run,
 * for an incident write-up; renders on GitHub. Clock times are UTC in the text and on the chart's
 * axis alike; service output and messages are shown as text, never as markup.
 */
export function renderReportMarkdown(
  run: RunSnapshot,
  tails: ReadonlyMap<string, readonly string[]> = new Map(),
): string {
  const out = [`# ${drillMark(run)}Restoration report: \`${run.plan}\``, ''];
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
  out.push('', '## Timeline', '', '```mermaid', renderGantt(run), '```', '');
  const failed = Object.entries(run.services).filter(
    ([name, s]) => s.result === 'failed' && tails.get(name)?.length,
  );
  if (failed.length > 0) {
    out.push('## Last output of failed services', '');
    for (const [name] of failed) out.push(`### \`${name}\``, '', markdownCodeBlock(tails.get(name)!), '');
  }
  return out.join('\n');
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
export function renderGantt(run: RunSnapshot): string {
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
  const byStage = new Map<string, string[]>();
  for (const [name, s] of Object.entries(run.services)) {
    const task = ganttTask(name, s, startedAt);
    if (!task) continue;
    const list = byStage.get(s.stage) ?? [];
    list.push(task);
    byStage.set(s.stage, list);
  }
  for (const [stage, tasks] of byStage) lines.push(`  section ${stage}`, ...tasks);
  return lines.join('\n');
}

function ganttTask(name: string, s: ServiceState, runStart: number): string | undefined {
  if (s.result === 'blocked' || s.result === 'skipped') {
    const when = s.finished_at ? at(s.finished_at) : runStart;
    const label = `${name} ${s.result}${s.reason ? ` (${s.reason})` : ''}`.replace(/[:;#]/g, ' ');
    return `    ${label} :milestone, ${s.result === 'blocked' ? 'crit, ' : ''}${utc(when)}, ${utc(when + 1)}`;
  }
  if (!s.started_at) return undefined;
  const start = at(s.started_at);
  const end = Math.max(start + 1, s.finished_at ? at(s.finished_at) : start + s.duration_ms);
  const tag =
    s.result === 'failed'
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
