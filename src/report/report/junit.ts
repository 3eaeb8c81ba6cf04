import type { RunSnapshot } from '../../run/state/journal/state.js';
import { formatDuration } from '../../util/duration.js';
import type { RtoTable } from '../rto.js';
import { breachWords, metWord, type RtoEntry, rtoEntries } from './rto-view.js';
import { drillMark } from './status.js';
import { xmlText } from './text.js';

/**
 * `restore report --format junit`: one test case per service, for CI dashboards, valid against the
 * schema Jenkins' xUnit plugin checks reports with (JUnit 10 format). A failed service is a
 * `failure` carrying its last output lines; a blocked or skipped one is `skipped` with the reason;
 * times are the run's (src/run/times.ts), the suite's its wall time.
 *
 * RTO targets (SPEC section 10): a healthy service over its target gets a `failure` of type `rto`
 * in its own test case (a failed one has its failure already). The plan's and the stages' targets
 * are test cases of their own, in a second suite `<plan>.rto`: a missed one is a `failure`, one
 * still open is `skipped`; their time is the time achieved.
 */
export function renderReportJunit(
  run: RunSnapshot,
  tails: ReadonlyMap<string, readonly string[]> = new Map(),
  rto?: RtoTable,
): string {
  const entries = Object.entries(run.services);
  const late = (name: string) =>
    run.services[name]?.result !== 'failed' && rto?.services[name]?.met === false;
  const failed = entries.filter(([name, s]) => s.result === 'failed' || late(name)).length;
  const skipped =
    entries.length -
    entries.filter(([name, s]) => s.result === 'failed' || passed(s.result) || late(name)).length;
  const targets = rto ? rtoEntries(rto, run.plan).filter((entry) => entry.kind !== 'service') : [];
  const targetsFailed = targets.filter((entry) => entry.row.met === false).length;
  const targetsSkipped = targets.filter((entry) => entry.row.met === null).length;
  const time = seconds(run.duration_ms);
  const counts = `tests="${entries.length}" failures="${failed}" errors="0"`;
  const all = `tests="${entries.length + targets.length}" failures="${failed + targetsFailed}" errors="0"`;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${drillMark(run)}restore ${xmlText(run.plan)}" ${all} time="${time}">`,
    `  <testsuite name="${xmlText(run.plan)}" id="${xmlText(run.run)}" ${counts} skipped="${skipped}" time="${time}" timestamp="${xmlText(run.started_at)}">`,
  ];
  for (const [name, s] of entries) {
    out.push(
      `    <testcase classname="${xmlText(`${run.plan}.${s.stage}`)}" name="${xmlText(name)}" time="${seconds(s.duration_ms)}">`,
    );
    const tail = tails.get(name) ?? [];
    if (s.result === 'failed') {
      const message = s.reason ?? 'failed';
      const body = [
        message,
        ...(tail.length > 0
          ? ['', tail.length === 1 ? 'last output line:' : `last ${tail.length} output lines:`, ...tail]
          : []),
      ];
      out.push(
        `      <failure type="failed" message="${xmlText(message)}">${xmlText(body.join('\n'))}</failure>`,
      );
    } else if (!passed(s.result)) {
      out.push(
        `      <skipped message="${xmlText(`${s.result}: ${s.reason ?? WHY[s.result] ?? s.result}`)}"/>`,
      );
    } else {
      const row = rto?.services[name];
      if (row?.met === false) out.push(rtoFailure({ kind: 'service', name, row }));
      out.push(`      <system-out>${xmlText(s.result)}</system-out>`);
    }
    out.push('    </testcase>');
  }
  out.push('  </testsuite>');
  if (targets.length > 0) {
    const rtoCounts = `tests="${targets.length}" failures="${targetsFailed}" errors="0" skipped="${targetsSkipped}"`;
    out.push(
      `  <testsuite name="${xmlText(`${run.plan}.rto`)}" id="${xmlText(`${run.run}.rto`)}" ${rtoCounts} time="${time}" timestamp="${xmlText(run.started_at)}">`,
    );
    for (const entry of targets) out.push(...targetCase(run.plan, entry));
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}

/** The test case of the plan's or a stage's target. */
function targetCase(plan: string, entry: RtoEntry): string[] {
  const { row } = entry;
  const name = `${entry.kind === 'plan' ? 'plan' : `stage ${entry.name}`} RTO ${formatDuration(row.rto_ms)}`;
  const out = [
    `    <testcase classname="${xmlText(`${plan}.rto`)}" name="${xmlText(name)}" time="${seconds(row.achieved_ms ?? 0)}">`,
  ];
  if (row.met === null)
    out.push(`      <skipped message="${xmlText(`open: ${row.note ?? 'not reached yet'}`)}"/>`);
  if (row.met === false) out.push(rtoFailure(entry));
  const wait = entry.approval_wait_ms ?? 0;
  out.push(
    `      <system-out>${xmlText(`${metWord(row)}${wait > 0 ? `; approval waits ${seconds(wait)} s, counted apart` : ''}`)}</system-out>`,
    '    </testcase>',
  );
  return out;
}

function rtoFailure(entry: RtoEntry): string {
  const message = `RTO missed: ${breachWords(entry)}`;
  return `      <failure type="rto" message="${xmlText(message)}">${xmlText(message)}</failure>`;
}

const WHY: Partial<Record<RunSnapshot['services'][string]['result'], string>> = {
  pending: 'not started',
  running: 'still running, or stopped with restore',
  'rolled-back': 'stopped again by --on-failure rollback',
};

function passed(result: RunSnapshot['services'][string]['result']): boolean {
  return result === 'healthy' || result === 'already-healthy';
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}
