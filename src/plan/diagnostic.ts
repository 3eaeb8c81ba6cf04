import type { Code } from './codes.js';

/** A problem in a plan file, at a 1-based line and column of the offending node. */
export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  severity: 'error' | 'warning';
  code: Code;
  message: string;
  hint?: string;
}

/** Orders diagnostics as a reader scans a file: by file, then position, then code. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
}
