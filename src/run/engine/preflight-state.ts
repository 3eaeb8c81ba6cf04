import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, openSync, statfsSync, statSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { isStale, readHolder } from '../state/lock.js';
import { checkPlanState, planState } from '../state/state-dir.js';
import { errnoOf, StateError, unusable } from '../state/state-files.js';
import type { Finding } from './preflight.js';

/** What `apply` needs free where its state goes: journals, run logs, daemons' logs. */
export const MIN_FREE_BYTES = 100 * 1024 * 1024;

/**
 * This machine's part of `restore check` (SPEC section 8): the plan's state directory
 * (`<state-dir>/<plan>`) can be created and written, with 100 MiB free there, and its lock is
 * free. Nothing permanent is created: in a state directory that exists, a temporary file is
 * created and removed at once; where it does not exist yet, the nearest directory that does must
 * be one this user can write in (`apply` creates the rest).
 */
export function checkThisMachine(stateDir: string, plan: string): Finding[] {
  const state = planState(stateDir, plan);
  const findings: Finding[] = [];
  const add = (check: Finding['check'], level: Finding['level'], message: string) =>
    findings.push({ check, level, message });

  // The checks apply makes on what exists: real directories of this user, writable by no one else.
  try {
    checkPlanState(state, stateDir);
  } catch (error) {
    if (!(error instanceof StateError)) throw error;
    add('state-dir', 'error', error.message);
    return findings;
  }

  const nearest = nearestExisting(state.root);
  if (nearest.error !== undefined) {
    add('state-dir', 'error', nearest.error);
    return findings;
  }
  const writable = nearest.dir === state.root ? probeWrite(state.root) : canCreateIn(nearest.dir);
  if (writable !== undefined) add('state-dir', 'error', writable);
  else if (nearest.dir === state.root) add('state-dir', 'ok', `${state.root} is writable`);
  else add('state-dir', 'ok', `${state.root} can be created (in ${nearest.dir}, writable)`);

  add(...freeSpace(nearest.dir));
  add(...lockState(state.root, nearest.dir === state.root));
  return findings;
}

/** The directory itself when it exists, else its nearest existing ancestor (a file there is an error). */
function nearestExisting(dir: string): { dir: string; error?: string } {
  let at = dir;
  for (;;) {
    try {
      if (statSync(at).isDirectory()) return { dir: at };
      return { dir: at, error: `cannot use state dir ${dir}: ${at} is a file, not a directory` };
    } catch (error) {
      const code = errnoOf(error);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return { dir: at, error: unusable(at, error).message };
    }
    const parent = dirname(at);
    if (parent === at) return { dir: at, error: `cannot use state dir ${dir}: no part of it exists` };
    at = parent;
  }
}

/** Creates and removes a file of a random name in `dir`: a write that leaves nothing behind. */
function probeWrite(dir: string): string | undefined {
  const file = join(dir, `.check.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    closeSync(
      openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600),
    );
  } catch (error) {
    return unusable(dir, error).message;
  }
  try {
    unlinkSync(file);
  } catch {
    // Created, so the directory is writable; the file is empty and named for restore.
  }
  return undefined;
}

/** Whether this user may create entries in `dir` (where the state dir would be made). */
function canCreateIn(dir: string): string | undefined {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return undefined;
  } catch (error) {
    return unusable(dir, error).message;
  }
}

function freeSpace(dir: string): [Finding['check'], Finding['level'], string] {
  let free: number;
  try {
    const stats = statfsSync(dir);
    free = stats.bavail * stats.bsize;
  } catch (error) {
    return [
      'disk-space',
      'error',
      `cannot tell the free space of ${dir}: ${errnoOf(error) ?? String(error)}`,
    ];
  }
  const mib = Math.floor(free / (1024 * 1024));
  return free >= MIN_FREE_BYTES
    ? ['disk-space', 'ok', `${mib} MiB free for the state dir (at ${dir})`]
    : [
        'disk-space',
        'error',
        `only ${mib} MiB free at ${dir}; apply needs ${MIN_FREE_BYTES / 1024 / 1024} MiB`,
      ];
}

/** The plan's lock, read and never taken: free, stale (apply takes it over) or held. */
function lockState(root: string, rootExists: boolean): [Finding['check'], Finding['level'], string] {
  if (!rootExists) return ['lock', 'ok', 'free (no state yet)'];
  const file = join(root, 'lock');
  let holder: ReturnType<typeof readHolder>;
  try {
    holder = readHolder(file);
  } catch (error) {
    return ['lock', 'error', error instanceof Error ? error.message : String(error)];
  }
  if (holder === undefined) return ['lock', 'ok', 'free'];
  const who = `pid ${holder.pid} on ${holder.host} since ${holder.started_at}${holder.run ? ` (run ${holder.run})` : ''}`;
  if (isStale(holder, file, hostname()))
    return ['lock', 'warning', `stale lock of ${who}, gone: apply will take it over`];
  return ['lock', 'error', `held by ${who}: another apply of this plan is running`];
}
