import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { Diagnostic } from '../../plan/diagnostic.js';
import {
  type DiagnosticFormat,
  renderDiagnostics,
  renderFileError,
} from '../../report/diagnostics/formats.js';
import { colorsFor } from '../../report/style.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';
import { readPlan } from './load-or-fail.js';

export interface ValidateOptions {
  format: DiagnosticFormat;
}

/**
 * `restore validate <plan...>`: every problem of every file; 0 valid, 1 invalid, 2 unreadable.
 * A quoted glob pattern (`'plans/**\/*.yaml'`) is expanded here, so CI gets the same files on
 * every shell; a pattern that matches no file is a usage error, like a missing file.
 */
export async function runValidate(
  args: readonly string[],
  options: ValidateOptions,
  io: Io,
): Promise<ExitCode> {
  const { files, unmatched } = await expandPatterns(args);
  const results = await Promise.all(files.map((file) => readPlan(file, io)));
  const diagnostics: Diagnostic[] = [];
  let unreadable = 0;
  let invalid = 0;
  const notRead = (file: string, message: string) => {
    unreadable += 1;
    io.stderr.write(`restore: ${message}\n`);
    io.stdout.write(renderFileError(options.format, file, message, io.redactor));
  };
  for (const pattern of unmatched) notRead(pattern, `no file matches ${pattern}`);
  results.forEach((result, index) => {
    if (result.ok) return;
    if (result.error.kind === 'source') {
      notRead(files[index] ?? '', result.error.error.message);
    } else {
      invalid += 1;
      diagnostics.push(...result.error.diagnostics);
    }
  });

  const colors = colorsFor(io.stdout, io.env);
  io.stdout.write(renderDiagnostics(options.format, diagnostics, colors, io.redactor));
  if (options.format !== 'json') {
    const c = colorsFor(io.stderr, io.env);
    const valid = files.length + unmatched.length - invalid - unreadable;
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
        : `${parts.join(', ')}; ${valid} of ${files.length + unmatched.length} valid`;
    io.stderr.write(`${summary}\n`);
  }
  if (unreadable > 0) return EXIT.usage;
  return invalid > 0 ? EXIT.invalid : EXIT.ok;
}

/**
 * Arguments as files: a path that exists, or that has no glob syntax, is taken as it is (a file
 * may be called `[1].yaml`); any other argument is a pattern, expanded in sorted order.
 */
async function expandPatterns(args: readonly string[]): Promise<{ files: string[]; unmatched: string[] }> {
  const files: string[] = [];
  const unmatched: string[] = [];
  for (const arg of args) {
    // tinyglobby (and picomatch, fdir) load only for an argument with glob syntax in it: most runs
    // name their files, and they are 90 KB of code to load on every start.
    if (!GLOB_CHARACTERS.test(arg) || existsSync(arg)) {
      files.push(arg);
      continue;
    }
    const { glob, isDynamicPattern } = await import('tinyglobby');
    if (!isDynamicPattern(arg)) {
      files.push(arg);
      continue;
    }
    const matches = await glob(arg, { onlyFiles: true, expandDirectories: false, absolute: isAbsolute(arg) });
    if (matches.length === 0) unmatched.push(arg);
    files.push(...matches.sort());
  }
  return { files: [...new Set(files)], unmatched };
}

/** Characters without which no argument is a glob pattern (picomatch's syntax, extglobs included). */
const GLOB_CHARACTERS = /[*?[\]{}()!+@]/;
