import type { Diagnostic } from '../../plan/diagnostic.js';
import type { Redactor } from '../../run/redact.js';
import type { Colors } from '../style.js';
import { renderDiagnosticsGithub, renderFileErrorGithub } from './github.js';
import { renderDiagnosticsJson } from './json.js';
import { renderDiagnosticsText } from './text.js';

/** `restore validate --format <name>`: three printers of the same diagnostics. */
const DIAGNOSTIC_FORMATS = {
  text: (diagnostics: readonly Diagnostic[], colors: Colors) => renderDiagnosticsText(diagnostics, colors),
  json: (diagnostics: readonly Diagnostic[]) => renderDiagnosticsJson(diagnostics),
  github: (diagnostics: readonly Diagnostic[]) => renderDiagnosticsGithub(diagnostics),
} as const;

export type DiagnosticFormat = keyof typeof DIAGNOSTIC_FORMATS;

/**
 * Diagnostics in a format, their secrets redacted before any printer escapes them (a value
 * quoted in a message may hold a secret: `port: "${DB_PASSWORD}"`).
 */
export function renderDiagnostics(
  format: DiagnosticFormat,
  diagnostics: readonly Diagnostic[],
  colors: Colors,
  redactor: Redactor,
): string {
  return DIAGNOSTIC_FORMATS[format](redactor.deep(diagnostics), colors);
}

/**
 * A file that could not be read at all, for formats that report it on stdout (GitHub
 * annotations); empty for the others, which say it on stderr only.
 */
export function renderFileError(
  format: DiagnosticFormat,
  file: string,
  message: string,
  redactor: Redactor,
): string {
  return format === 'github' ? renderFileErrorGithub(redactor.text(file), redactor.text(message)) : '';
}
