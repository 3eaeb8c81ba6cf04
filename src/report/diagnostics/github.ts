import type { Diagnostic } from '../../plan/diagnostic.js';

/** GitHub Actions workflow commands: each diagnostic becomes an annotation on its file and line. */
export function renderDiagnosticsGithub(diagnostics: readonly Diagnostic[]): string {
  return diagnostics
    .map((d) => {
      const properties = [
        `file=${escapeProperty(d.file)}`,
        `line=${d.line}`,
        `col=${d.column}`,
        `title=${escapeProperty(`restore ${d.code}`)}`,
      ].join(',');
      const message = d.hint ? `${d.message} (${d.hint})` : d.message;
      return `::${d.severity === 'error' ? 'error' : 'warning'} ${properties}::${escapeData(`${d.code}: ${message}`)}\n`;
    })
    .join('');
}

// https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** An annotation on a file that could not be read at all (`validate` exits 2 for it). */
export function renderFileErrorGithub(file: string, message: string): string {
  return `::error file=${escapeProperty(file)},title=${escapeProperty('restore unreadable file')}::${escapeData(message)}\n`;
}
