import type { ResolvedPlan } from '../plan/model.js';
import type { RunSnapshot, ServiceState, StageState } from '../run/state/journal/state.js';

/**
 * Recovery time objectives against what a run achieved (SPEC section 10), from the run's journal
 * (its RunSnapshot) and the targets of the plan. One table, computed here once: `status`,
 * `report` in every format, `apply --enforce-rto`, the evidence bundle and the metrics file all
 * show these figures.
 *
 * - plan: run start to the last service healthy, approval waits counted (and given apart);
 * - stage: stage start (after its approval) to its finish;
 * - service: first start attempt to healthy; a service found already healthy took 0 ms.
 *
 * A target not reached has `achieved_ms: null` and says why in `note`. Its `met` is false once it
 * can no longer be met (the service failed, was blocked or skipped, the stage or the run ended
 * without it, or more time than the target has passed), and null while it still can (the run goes
 * on, or stopped resumable, inside its target). An open target is measured to the journal's last
 * line: the function reads no clock, so the same journal always gives the same table.
 */

export interface RtoRow {
  rto_ms: number;
  /** Null: the target was not reached (yet); `note` says why. */
  achieved_ms: number | null;
  /** Null: not reached, but it still can be in time. */
  met: boolean | null;
  note?: string;
}

/** A row of the plan or a stage: the time it waited for approvals, shown apart. */
export interface RtoWaitRow extends RtoRow {
  approval_wait_ms: number;
}

export interface RtoTable {
  /** The plan's target; null when the plan sets none. */
  plan: RtoWaitRow | null;
  /** Stages and services that have a target and are part of the run, in plan order. */
  stages: Record<string, RtoWaitRow>;
  services: Record<string, RtoRow>;
  /** Every approval wait of the run, summed (also with no plan target). */
  approval_wait_ms: number;
  /** Whether any target was missed (`met: false`). */
  missed: boolean;
}

/** The RTO table of a run of `plan` (SPEC section 10). Pure: same plan and journal, same table. */
export function rtoTable(plan: ResolvedPlan, run: RunSnapshot): RtoTable {
  const now = Date.parse(run.updated_at);
  const left = new Set(run.not_selected);
  const services: Record<string, RtoRow> = {};
  for (const stage of plan.stages) {
    for (const name of stage.services) {
      const target = plan.services[name]?.rto_ms;
      const state = run.services[name];
      if (target === undefined || !state || left.has(name)) continue;
      services[name] = serviceRow(target, state, now);
    }
  }
  const stages: Record<string, RtoWaitRow> = {};
  for (const stage of plan.stages) {
    const state = run.stages[stage.name];
    // A stage all of whose services --only left out was not part of the run.
    if (stage.rto_ms === undefined || !state || stage.services.every((name) => left.has(name))) continue;
    stages[stage.name] = {
      ...stageRow(stage.rto_ms, state, run, now),
      approval_wait_ms: state.approval_wait_ms,
    };
  }
  const planRow =
    plan.rto_ms === undefined
      ? null
      : { ...runRow(plan.rto_ms, run, left, now), approval_wait_ms: run.approval_wait_ms };
  const rows = [planRow, ...Object.values(stages), ...Object.values(services)];
  return {
    plan: planRow,
    stages,
    services,
    approval_wait_ms: run.approval_wait_ms,
    missed: rows.some((row) => row?.met === false),
  };
}

/** Whether a run may still reach what it has not: it goes on, or stopped and can be resumed. */
function open(run: RunSnapshot): boolean {
  return run.state === 'running' || run.state === 'interrupted' || run.state === 'awaiting-approval';
}

function reached(rto_ms: number, achieved_ms: number): RtoRow {
  return { rto_ms, achieved_ms, met: achieved_ms <= rto_ms };
}

/** Not reached: missed when it can no longer be, or when its time is up; open otherwise. */
function notReached(rto_ms: number, note: string, final: boolean, elapsed_ms: number | null): RtoRow {
  const late = elapsed_ms !== null && elapsed_ms > rto_ms;
  return {
    rto_ms,
    achieved_ms: null,
    met: final || late ? false : null,
    note: late && !final ? `${note}; already over its target` : note,
  };
}

const ms = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso));

function serviceRow(rto_ms: number, s: ServiceState, now: number): RtoRow {
  if (s.result === 'already-healthy') return reached(rto_ms, 0);
  // The span of a service with no start command opens at its first probe round.
  const from = ms(s.first_attempt_at ?? s.started_at);
  if ((s.result === 'healthy' || s.result === 'rolled-back') && s.finished_at !== null && from !== null)
    return reached(rto_ms, Math.max(0, Date.parse(s.finished_at) - from));
  switch (s.result) {
    case 'failed':
      return notReached(rto_ms, 'failed', true, null);
    case 'blocked':
    case 'skipped':
      return notReached(rto_ms, s.reason ? `${s.result}: ${s.reason}` : s.result, true, null);
    default:
      return notReached(
        rto_ms,
        from === null ? 'not started' : 'not healthy yet',
        false,
        from === null ? null : now - from,
      );
  }
}

function stageRow(rto_ms: number, stage: StageState, run: RunSnapshot, now: number): RtoRow {
  const from = ms(stage.started_at);
  if (stage.result === 'succeeded' && from !== null && stage.finished_at !== null)
    return reached(rto_ms, Math.max(0, Date.parse(stage.finished_at) - from));
  const final = !open(run) || stage.result === 'failed' || stage.result === 'halted';
  const note =
    stage.result === 'failed' || stage.result === 'halted'
      ? `stage ${stage.result}`
      : from === null
        ? 'not started'
        : 'not finished';
  return notReached(rto_ms, note, final, from === null ? null : now - from);
}

function runRow(rto_ms: number, run: RunSnapshot, left: ReadonlySet<string>, now: number): RtoRow {
  const started = Date.parse(run.started_at);
  const ran = Object.entries(run.services).filter(([name]) => !left.has(name));
  const up = ran.every(([, s]) => s.result === 'healthy' || s.result === 'already-healthy');
  if (up && ran.length > 0) {
    const last = Math.max(started, ...ran.map(([, s]) => ms(s.finished_at) ?? started));
    return reached(rto_ms, last - started);
  }
  const down = ran.filter(([, s]) => s.result === 'failed' || s.result === 'blocked').length;
  const note = open(run)
    ? run.state === 'awaiting-approval'
      ? `waiting for approval of stage ${run.awaiting ?? '?'}`
      : run.state === 'interrupted'
        ? 'interrupted'
        : 'not every service healthy yet'
    : down > 0
      ? `${down} service${down === 1 ? '' : 's'} not healthy`
      : `run ${run.state}`;
  return notReached(rto_ms, note, !open(run), now - started);
}
