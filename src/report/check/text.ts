import type { Finding } from '../../run/engine/preflight.js';
import { unreachable } from '../../util/unreachable.js';
import { alignColumns, type Colors } from '../style.js';
import { findingSubject, findingTotals } from './where.js';

/** One aligned line per finding (level, what it is about, check, message), then the totals. */
export function renderCheckText(plan: string, findings: readonly Finding[], c: Colors): string {
  const level = (finding: Finding) => {
    switch (finding.level) {
      case 'ok':
        return c.green('ok');
      case 'warning':
        return c.yellow('warning');
      case 'error':
        return c.red('error');
      default:
        return unreachable(finding.level);
    }
  };
  const rows = findings.map((finding) => [
    level(finding),
    findingSubject(finding),
    c.dim(finding.check),
    finding.message,
  ]);
  const lines = alignColumns(rows);
  return `${c.bold(`restore check ${plan}`)}\n${lines.map((line) => `  ${line}\n`).join('')}${findingTotals(findings)}\n`;
}
