import type { RunSnapshot } from '../../run/journal/state.js';

/** `restore report --format junit`: one test case per service, for CI dashboards. */
export function renderReportJunit(run: RunSnapshot): string {
  const entries = Object.entries(run.services);
  const failed = entries.filter(([, s]) => s.result === 'failed' || s.result === 'blocked').length;
  const skipped = entries.filter(([, s]) => s.result === 'skipped' || s.result === 'pending').length;
  const total = entries.reduce((sum, [, s]) => sum + s.duration_ms, 0) / 1000;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="restore ${xml(run.plan)}" tests="${entries.length}" failures="${failed}" skipped="${skipped}" time="${total.toFixed(3)}">`,
    `  <testsuite name="${xml(run.plan)}" id="${xml(run.run)}" tests="${entries.length}" failures="${failed}" skipped="${skipped}" time="${total.toFixed(3)}" timestamp="${xml(run.started_at)}">`,
  ];
  for (const [name, s] of entries) {
    const head = `    <testcase classname="${xml(`${run.plan}.${s.stage}`)}" name="${xml(name)}" time="${(s.duration_ms / 1000).toFixed(3)}"`;
    if (s.result === 'failed' || s.result === 'blocked') {
      out.push(
        `${head}>`,
        `      <failure type="${s.result}" message="${xml(s.reason ?? s.result)}"/>`,
        '    </testcase>',
      );
    } else if (s.result === 'skipped' || s.result === 'pending' || s.result === 'running') {
      out.push(`${head}>`, `      <skipped message="${xml(s.result)}"/>`, '    </testcase>');
    } else {
      out.push(`${head}>`, `      <system-out>${xml(s.result)}</system-out>`, '    </testcase>');
    }
  }
  out.push('  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}

function xml(text: string): string {
  return (
    text
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: XML 1.0 forbids them
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
  );
}
