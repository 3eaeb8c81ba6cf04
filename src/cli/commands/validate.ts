import type { Diagnostic } from '../../plan/diagnostic.js';
import { type DiagnosticFormat, renderDiagnostics } from '../../report/diagnostics/formats.js';
import { colorsFor } from '../../report/style.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';
import { readPlan } from './load-or-fail.js';

export interface ValidateOptions {
  format: DiagnosticFormat;
}

/** `restore validate <plan...>`: every problem of every file; 0 valid, 1 invalid, 2 unreadable. */
export async function runValidate(
  files: readonly string[],
  options: ValidateOptions,
  io: Io,
): Promise<ExitCode> {
  const results = await Promise.all(files.map((file) => readPlan(file, io)));
  const diagnostics: Diagnostic[] = [];
  let unreadable = 0;
  let invalid = 0;
  results.forEach((result) => {
    if (result.ok) return;
    if (result.error.kind === 'source') {
      unreadable += 1;
      io.stderr.write(`restore: ${result.error.error.message}\n`);
    } else {
      invalid += 1;
      diagnostics.push(...result.error.diagnostics);
    }
  });

  const colors = colorsFor(io.stdout, io.env);
  io.stdout.write(renderDiagnostics(options.format, diagnostics, colors, io.redactor));
  if (options.format !== 'json') {
    const c = colorsFor(io.stderr, io.env);
    const valid = files.length - invalid - unreadable;
    const problems = diagnostics.length;
    const parts: string[] = [];
    if (invalid > 0)
      parts.push(
        c.red(
          `${problems} problem${problems === 1 ? '' : 's'} in ${invalid} file${invalid === 1 ? '' : 's'}`,
        ),
      );
    if (unreadable > 0) parts.push(c.red(`${unreadable} file${unreadable === 1 ? '' : 's'} not read`));
    const summary =
      parts.length === 0
        ? c.green(files.length === 1 ? `${files[0]} is valid` : `all ${files.length} plans are valid`)
        : `${parts.join(', ')}; ${valid} of ${files.length} valid`;
    io.stderr.write(`${summary}\n`);
  }
  if (unreadable > 0) return EXIT.usage;
  return invalid > 0 ? EXIT.invalid : EXIT.ok;
}
