import { randomBytes } from 'node:crypto';
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  checkStateDirectory,
  ensureStateDirectory,
  errnoOf,
  refuseNonFilesIn,
  unusable,
} from './state-files.js';

/**
 * Where a plan's state lives: `<state-dir>/<plan>/` holds the `lock`, `services/<name>.log|.pid`
 * of daemons and `runs/<run-id>.log|.jsonl`. Names are validated plan and service names, so they
 * are safe in paths. Directories are created 0700: logs may hold sensitive output.
 */
export interface PlanState {
  root: string;
  servicesDir: string;
  runsDir: string;
}

/** The state dir a command uses, and whether the user named it (hints repeat it only then). */
export interface StateDirChoice {
  /** Absolute. */
  dir: string;
  /** `--state-dir` as given, when it was. */
  flag?: string;
  from: 'flag' | 'env' | 'default';
}

/**
 * `--state-dir`, else `RESTORE_STATE_DIR` (both relative to the working directory), else
 * `.restore` in the plan file's directory: the same state, and so the same lock, from any working
 * directory (SPEC section 3). The directory's links are resolved (one plan reached through two
 * paths is one plan); the plan file's own name is not (a link to a plan keeps its state by the link).
 */
export function chooseStateDir(
  flag: string | undefined,
  planFile: string,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): StateDirChoice {
  if (flag !== undefined && flag !== '') return { dir: resolve(cwd, flag), flag, from: 'flag' };
  const fromEnv = env.RESTORE_STATE_DIR;
  if (fromEnv !== undefined && fromEnv !== '') return { dir: resolve(cwd, fromEnv), from: 'env' };
  const planDir = resolve(cwd, dirname(planFile));
  let real = planDir;
  try {
    real = realpathSync(planDir);
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw unusable(planDir, error);
  }
  return { dir: join(real, '.restore'), from: 'default' };
}

export function planState(stateDir: string, plan: string): PlanState {
  const root = resolve(stateDir, plan);
  return { root, servicesDir: join(root, 'services'), runsDir: join(root, 'runs') };
}

/**
 * Creates the state directories (mode 0700) and checks them (state-files.ts): each a real
 * directory of the user's, writable by no one else, with no link where a state file goes.
 * Throws StateError (`unusable`) otherwise.
 */
export function ensurePlanState(stateDir: string, plan: string): PlanState {
  const state = planState(stateDir, plan);
  ensureStateDirectory(stateDir, true);
  for (const dir of [state.root, state.servicesDir, state.runsDir]) ensureStateDirectory(dir);
  // The SSH sockets' directory is made when a plan has hosts (places/ssh/ssh.ts); if it is there, it is checked too.
  if (exists(sshDir(state), false)) checkStateDirectory(sshDir(state));
  refuseNonFilesIn([state.servicesDir, state.runsDir], [join(state.root, 'lock')]);
  return state;
}

/**
 * Checks a plan's state for a command that only reads it (status, report, down): the same checks
 * as ensurePlanState for what exists, and nothing created. False when there is no state yet.
 */
export function checkPlanState(state: PlanState, stateDir: string): boolean {
  const dirs = [
    [stateDir, true],
    [state.root, false],
    [state.servicesDir, false],
    [state.runsDir, false],
    [sshDir(state), false],
  ] as const;
  for (const [dir, followLink] of dirs) if (exists(dir, followLink)) checkStateDirectory(dir, followLink);
  refuseNonFilesIn([state.servicesDir, state.runsDir], [join(state.root, 'lock')]);
  return exists(state.root, false);
}

function exists(path: string, followLink: boolean): boolean {
  try {
    if (followLink) statSync(path);
    else lstatSync(path);
    return true;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw unusable(path, error);
  }
}

export const serviceLog = (state: PlanState, service: string) => join(state.servicesDir, `${service}.log`);
export const servicePid = (state: PlanState, service: string) => join(state.servicesDir, `${service}.pid`);
/** Sockets of the run's shared SSH connections (SPEC section 6). */
export const sshDir = (state: PlanState) => join(state.root, 'ssh');
export const runLog = (state: PlanState, run: string) => join(state.runsDir, `${run}.log`);
export const runJournal = (state: PlanState, run: string) => join(state.runsDir, `${run}.jsonl`);

/**
 * A sortable, time-based run id: `20261125T065300123Z-3f9a0c1e`, the time to the millisecond and
 * 32 random bits from the system's secure generator (two runs started the same millisecond, on
 * two machines sharing a state dir, do not collide).
 */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('.', '');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}
