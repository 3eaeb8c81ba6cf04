import type { Finding } from '../../run/engine/preflight.js';
import { escapeData, escapeProperty } from '../diagnostics/github.js';
import { findingSubject } from './where.js';

/**
 * GitHub Actions workflow commands: an error or a warning becomes an annotation on the plan file
 * (a finding is about a host or a service, not a line of the plan); an `ok` finding is a plain
 * line of the job's log, so the log still shows everything that was looked at.
 */
export function renderCheckGithub(file: string, findings: readonly Finding[]): string {
  return findings
    .map((finding) => {
      const text = `${findingSubject(finding)}: ${finding.check}: ${finding.message}`;
      if (finding.level === 'ok') return `ok ${escapeData(text)}\n`;
      const properties = [
        `file=${escapeProperty(file)}`,
        `title=${escapeProperty(`restore check ${finding.check}`)}`,
      ];
      return `::${finding.level} ${properties.join(',')}::${escapeData(text)}\n`;
    })
    .join('');
}
