import type { Diagnostic } from '../../plan/diagnostic.js';

/** The array shape of SPEC section 5: `[ { file, line, column, severity, code, message, hint? } ]`. */
export function renderDiagnosticsJson(diagnostics: readonly Diagnostic[]): string {
  return `${JSON.stringify(
    diagnostics.map(({ file, line, column, severity, code, message, hint }) => ({
      file,
      line,
      column,
      severity,
      code,
      message,
      ...(hint !== undefined ? { hint } : {}),
    })),
    null,
    2,
  )}\n`;
}
