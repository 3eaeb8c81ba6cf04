import type { Diagnostic } from '../../plan/diagnostic.js';
import { alignColumns, type Colors } from '../style.js';

/** `file:line:col  error  code  message (hint)`, aligned, one line per diagnostic. */
export function renderDiagnosticsText(diagnostics: readonly Diagnostic[], c: Colors): string {
  const rows = diagnostics.map((d) => [
    c.bold(`${d.file}:${d.line}:${d.column}`),
    d.severity === 'error' ? c.red('error') : c.yellow('warning'),
    c.cyan(d.code),
    d.hint ? `${d.message} ${c.dim(`(${d.hint})`)}` : d.message,
  ]);
  return alignColumns(rows)
    .map((line) => `${line}\n`)
    .join('');
}
