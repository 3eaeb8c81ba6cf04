import { type Env, type LoadedPlan, loadPlan } from '../../plan/load.js';
import { renderDiagnosticsText } from '../../report/diagnostics/text.js';
import { colorsFor } from '../../report/style.js';
import { CommandError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';

/**
 * Loads a plan for a command that needs a valid one: an unreadable file is a usage error (2), an
 * invalid plan prints its diagnostics on stderr and ends the command with exit 1.
 */
export async function loadOrFail(file: string, io: Io, env: Env = io.env): Promise<LoadedPlan> {
  const result = await loadPlan(file, env);
  if (result.ok) return result.value;
  if (result.error.kind === 'source') throw new UsageError(result.error.error.message);
  const diagnostics = result.error.diagnostics;
  io.stderr.write(renderDiagnosticsText(diagnostics, colorsFor(io.stderr, io.env)));
  throw new CommandError(
    `${file} is invalid (${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'}); nothing was run`,
    EXIT.invalid,
  );
}
