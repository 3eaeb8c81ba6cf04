import type { RunSnapshot } from '../../run/state/journal/state.js';
import { formatElapsed } from '../../util/duration.js';
import type { RtoTable } from '../rto.js';
import { RESULT_WORDS } from '../run/words.js';
import { alignColumns, type Colors } from '../style.js';
import { rtoJson, rtoTextLines } from './rto-view.js';

/**
 * The `status --format json` shape of SPEC section 5, with the targets of SPEC section 10: `rto`
 * at the top level for the plan, `stages.<name>.rto`, `services.<name>.rto` for those with one.
 */
export function statusJson(
  plan: string,
  run: RunSnapshot | undefined,
  rto?: RtoTable,
): Record<string, unknown> {
  if (!run) return { plan, run: null, state: null, started_at: null, finished_at: null, services: {} };
  return {
    plan,
    run: run.run,
    state: run.state,
    started_at: run.started_at,
    finished_at: run.finished_at,
    duration_ms: run.duration_ms,
    // A rehearsal says so (SPEC section 10), with its stand-ins and what its teardown did.
    mode: run.mode,
    ...(run.hosts ? { hosts: run.hosts } : {}),
    ...(run.teardown ? { teardown: run.teardown } : {}),
    ...(run.awaiting ? { awaiting: run.awaiting } : {}),
    ...(rto?.plan ? { rto: rtoJson(rto.plan) } : {}),
    approval_wait_ms: run.approval_wait_ms,
    stages: Object.fromEntries(
      Object.entries(run.stages).map(([name, s]) => [
        name,
        {
          result: s.result,
          started_at: s.started_at,
          finished_at: s.finished_at,
          approval_wait_ms: s.approval_wait_ms,
          ...(rto?.stages[name] ? { rto: rtoJson(rto.stages[name]) } : {}),
        },
      ]),
    ),
    services: Object.fromEntries(
      Object.entries(run.services).map(([name, s]) => [
        name,
        {
          stage: s.stage,
          result: s.result,
          attempts: s.attempts,
          duration_ms: s.duration_ms,
          // Why it failed or was blocked, in words (SPEC section 4, step 11).
          ...(s.reason !== null ? { reason: s.reason } : {}),
          ...(rto?.services[name] ? { rto: rtoJson(rto.services[name]) } : {}),
        },
      ]),
    ),
  };
}

/** `restore status --format json`. */
export function renderStatusJson(plan: string, run: RunSnapshot | undefined, rto?: RtoTable): string {
  return `${JSON.stringify(statusJson(plan, run, rto), null, 2)}\n`;
}

/** `restore status`: the run's state, a table of its services and why any failed, then its targets. */
export function renderStatusText(
  plan: string,
  run: RunSnapshot | undefined,
  c: Colors,
  rto?: RtoTable,
): string {
  if (!run) return `plan ${plan}: no run yet\n`;
  const head = [
    `${drillMark(run, c)}${c.bold(`plan ${plan}`)}: run ${run.run} ${run.state}${run.awaiting ? ` before stage ${run.awaiting} (needs approval)` : ''}${teardownNote(run)}`,
    `started ${run.started_at}${run.finished_at ? `, finished ${run.finished_at}, took ${formatElapsed(run.duration_ms)}` : ''}`,
    '',
  ];
  const rows = [['SERVICE', 'STAGE', 'RESULT', 'ATTEMPTS', 'DURATION'].map((h) => c.bold(h))];
  for (const [name, s] of Object.entries(run.services)) {
    const result = s.result === 'pending' || s.result === 'running' ? s.result : RESULT_WORDS[s.result];
    rows.push([name, s.stage, result, String(s.attempts), formatElapsed(s.duration_ms)]);
  }
  const why = Object.entries(run.services).filter(([, s]) => s.result === 'failed' && s.reason !== null);
  const reasons = why.length > 0 ? ['', ...why.map(([name, s]) => `${c.red(name)}: ${s.reason}`)] : [];
  const targets = rto ? rtoTextLines(rto, plan, c) : [];
  return `${[...head, ...alignColumns(rows), ...reasons, ...targets].join('\n')}\n`;
}

/** The first word of a drill's first line (SPEC section 10): nobody takes a rehearsal for a restoration. */
export function drillMark(run: RunSnapshot, c?: Colors): string {
  if (run.mode !== 'drill') return '';
  return `${c ? c.yellow('DRILL') : 'DRILL'} `;
}

/** What a drill's teardown did, after the run's state on its first line. */
export function teardownNote(run: RunSnapshot): string {
  const t = run.teardown;
  if (!t) return '';
  if (!t.finished) return '; teardown not finished (restore drill --resume finishes it)';
  const failed = t.failed.length > 0 ? `, FAILED to stop ${t.failed.join(', ')}` : '';
  return `; torn down (${t.stopped.length} stopped${failed})`;
}
