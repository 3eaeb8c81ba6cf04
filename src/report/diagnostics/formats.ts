import type { Diagnostic } from '../../plan/diagnostic.js';
import type { Colors } from '../style.js';
import { renderDiagnosticsGithub } from './github.js';
import { renderDiagnosticsJson } from './json.js';
import { renderDiagnosticsText } from './text.js';

/** `restore validate --format <name>`: three printers of the same diagnostics. */
export const DIAGNOSTIC_FORMATS = {
  text: (diagnostics: readonly Diagnostic[], colors: Colors) => renderDiagnosticsText(diagnostics, colors),
  json: (diagnostics: readonly Diagnostic[]) => renderDiagnosticsJson(diagnostics),
  github: (diagnostics: readonly Diagnostic[]) => renderDiagnosticsGithub(diagnostics),
} as const;

export type DiagnosticFormat = keyof typeof DIAGNOSTIC_FORMATS;
