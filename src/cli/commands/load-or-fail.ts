import { type Env, type LoadError, type LoadedPlan, loadPlan } from '../../plan/load.js';
import { renderDiagnostics } from '../../report/diagnostics/formats.js';
import { colorsFor } from '../../report/style.js';
import type { Result } from '../../util/result.js';
import { CommandError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';

/**
 * Reads a plan for a command. The values of its secrets, valid or not (as far as its `secrets:`
 * can be read), are hidden from everything the command writes from then on.
 */
export async function readPlan(
  file: string,
  io: Io,
  env: Env = io.env,
): Promise<Result<LoadedPlan, LoadError>> {
  const result = await loadPlan(file, env);
  if (result.ok) io.hide(result.value.secretValues);
  else if (result.error.kind === 'invalid') io.hide(result.error.secretValues);
  return result;
}

/**
 * Loads a plan for a command that needs a valid one: an unreadable file is a usage error (2), an
 * invalid plan prints its diagnostics on stderr and ends the command with exit 1.
 */
export async function loadOrFail(file: string, io: Io, env: Env = io.env): Promise<LoadedPlan> {
  const result = await readPlan(file, io, env);
  if (result.ok) return result.value;
  if (result.error.kind === 'source') throw new UsageError(result.error.error.message);
  const diagnostics = result.error.diagnostics;
  io.stderr.write(renderDiagnostics('text', diagnostics, colorsFor(io.stderr, io.env), io.redactor));
  throw new CommandError(
    `${file} is invalid (${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'}); nothing was run`,
    EXIT.invalid,
  );
}
