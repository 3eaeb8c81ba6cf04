import type { RunSnapshot } from '../../run/journal/state.js';
import { formatElapsed } from '../../util/duration.js';
import { RESULT_WORDS } from '../run/words.js';

/**
 * `restore report --format markdown`: a results table and a Mermaid Gantt timeline of the run,
 * for an incident write-up; renders on GitHub.
 */
export function renderReportMarkdown(run: RunSnapshot): string {
  const out = [`# Restoration report: \`${run.plan}\``, ''];
  out.push(`- **Run:** \`${run.run}\``);
  out.push(
    `- **Result:** ${run.state}${run.awaiting ? ` (waiting for approval of stage \`${run.awaiting}\`)` : ''}`,
  );
  out.push(`- **Started:** ${run.started_at}`);
  out.push(`- **Finished:** ${run.finished_at ?? '-'}`);
  if (run.finished_at)
    out.push(`- **Duration:** ${formatElapsed(Date.parse(run.finished_at) - Date.parse(run.started_at))}`);
  out.push(`- **Plan digest:** \`${run.digest}\``);
  for (const approval of run.approvals) {
    out.push(
      `- **Approved:** stage \`${approval.stage}\` by ${escapeCell(approval.approver)} at ${approval.time}`,
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
    const result = s.result === 'pending' || s.result === 'running' ? s.result : RESULT_WORDS[s.result];
    out.push(
      `| \`${name}\` | \`${s.stage}\` | ${result} | ${s.attempts} | ${formatElapsed(s.duration_ms)} | ${escapeCell(s.reason ?? '')} |`,
    );
  }
  out.push('', '## Timeline', '', '```mermaid', renderGantt(run), '```', '');
  return out.join('\n');
}

/** A Mermaid Gantt chart: one bar per service that started, from start to healthy or failed. */
export function renderGantt(run: RunSnapshot): string {
  const lines = [
    'gantt',
    `  title ${run.plan} restoration, run ${run.run}`,
    '  dateFormat x',
    '  axisFormat %H:%M:%S',
  ];
  const byStage = new Map<string, [string, (typeof run.services)[string]][]>();
  for (const entry of Object.entries(run.services)) {
    if (!entry[1].started_at) continue;
    const list = byStage.get(entry[1].stage) ?? [];
    list.push(entry);
    byStage.set(entry[1].stage, list);
  }
  for (const [stage, services] of byStage) {
    lines.push(`  section ${stage}`);
    for (const [name, s] of services) {
      const start = Date.parse(s.started_at!);
      const end = Math.max(start + 1, s.finished_at ? Date.parse(s.finished_at) : start + s.duration_ms);
      const tag = s.result === 'failed' ? 'crit, ' : s.result === 'already-healthy' ? 'done, ' : '';
      lines.push(`    ${name} :${tag}${start}, ${end}`);
    }
  }
  return lines.join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').replace(/</g, '&lt;');
}
