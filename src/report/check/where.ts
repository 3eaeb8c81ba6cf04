import type { Finding } from '../../run/engine/preflight.js';

/** What a finding is about, for people: `this machine`, `host db-1`, `service api (on db-1)`. */
export function findingSubject(finding: Pick<Finding, 'service' | 'host'>): string {
  if (finding.service !== undefined)
    return `service ${finding.service}${finding.host !== undefined ? ` (on ${finding.host})` : ''}`;
  if (finding.host !== undefined) return `host ${finding.host}`;
  return 'this machine';
}

/** `2 errors, 1 warning, 12 ok`. */
export function findingTotals(findings: readonly Finding[]): string {
  const count = (level: Finding['level']) => findings.filter((finding) => finding.level === level).length;
  const errors = count('error');
  const warnings = count('warning');
  return `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}, ${count('ok')} ok`;
}
