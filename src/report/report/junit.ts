import type { RunSnapshot } from '../../run/state/journal/state.js';
import { drillMark } from './status.js';
import { xmlText } from './text.js';

/**
 * `restore report --format junit`: one test case per service, for CI dashboards, valid against the
 * schema Jenkins' xUnit plugin checks reports with (JUnit 10 format). A failed service is a
 * `failure` carrying its last output lines; a blocked or skipped one is `skipped` with the reason;
 * times are the run's (src/run/times.ts), the suite's its wall time.
 */
export function renderReportJunit(
  run: RunSnapshot,
  tails: ReadonlyMap<string, readonly string[]> = new Map(),
): string {
  const entries = Object.entries(run.services);
  const failed = entries.filter(([, s]) => s.result === 'failed').length;
  const skipped = entries.length - failed - entries.filter(([, s]) => passed(s.result)).length;
  const time = seconds(run.duration_ms);
  const counts = `tests="${entries.length}" failures="${failed}" errors="0"`;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    // XML's first line is its declaration: a drill says DRILL on the next, in the suites' name.
    `<testsuites name="${drillMark(run)}restore ${xmlText(run.plan)}" ${counts} time="${time}">`,
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
      out.push(`      <system-out>${xmlText(s.result)}</system-out>`);
    }
    out.push('    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>', '');
  return out.join('\n');
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
