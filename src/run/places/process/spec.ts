import { isAbsolute, resolve } from 'node:path';
import type { ResolvedCommand } from '../../../plan/model.js';
import type { CommandSpec } from './types.js';

/**
 * A plan's command made ready to run: its cwd resolved against the plan file's directory (the
 * plan's own directory when it has none), its deadline the command's own or the given bound.
 */
export function toSpec(command: ResolvedCommand, planDir: string, boundMs: number | null): CommandSpec {
  const cwd =
    command.cwd === null ? planDir : isAbsolute(command.cwd) ? command.cwd : resolve(planDir, command.cwd);
  const own = command.timeout_ms;
  const timeoutMs = own === null ? boundMs : boundMs === null ? own : Math.min(own, boundMs);
  return { argv: command.argv, shell: command.shell, cwd, env: command.env, timeoutMs };
}
