import { quote } from 'shlex';
import { chooseStateDir, type StateDirChoice } from '../run/state/state-dir.js';
import type { Io } from './io.js';

/**
 * The state dir of a command that reads or writes state (SPEC section 3), said on stderr in one
 * line: where a run's lock, journals and pid files are is never a guess. stdout stays the
 * command's own output (JSON included).
 */
export function useStateDir(flag: string | undefined, planFile: string, io: Io): StateDirChoice {
  const choice = chooseStateDir(flag, planFile, io.env, io.cwd);
  const from = choice.from === 'env' ? ' (from RESTORE_STATE_DIR)' : '';
  io.stderr.write(`restore: state dir ${choice.dir}${from}\n`);
  return choice;
}

/** `--state-dir X` for a "continue with" hint: only when the user gave one (else the default holds). */
export function stateDirFlag(choice: StateDirChoice): string {
  return choice.flag === undefined ? '' : ` --state-dir ${quote(choice.flag)}`;
}
