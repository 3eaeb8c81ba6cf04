import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, lstatSync, renameSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { Result } from '../../util/result.js';
import { err, ok } from '../../util/result.js';
import { isAlive } from '../places/process/process-group.js';
import { errnoOf, openStateFile, readStateFile, writeAll, writeFileAtomic } from './state-files.js';

/** Who holds a plan's lock: `<state-dir>/<plan>/lock` (SPEC section 4, step 2). */
export interface LockHolder {
  pid: number;
  host: string;
  started_at: string;
  run?: string;
}

export interface Lock {
  /** A stale lock that was taken over, for the warning. */
  tookOver?: LockHolder;
  /** Records the run holding the lock, once it has an id (best effort: never throws). */
  setRun(run: string): void;
  release(): void;
}

/**
 * Takes a plan's lock. Creating the file is atomic (O_EXCL): of two applies racing, exactly one
 * wins. A lock whose pid is gone on this host is stale: it is moved aside atomically and taken over.
 */
export function takeLock(root: string): Result<Lock, LockHolder> {
  const file = join(root, 'lock');
  const me: LockHolder = { pid: process.pid, host: hostname(), started_at: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    const created = tryCreate(file, me);
    if (created) return ok(lockOf(file, me));
    const holder = readHolder(file);
    if (holder === undefined) continue; // released meanwhile: try again
    if (!isStale(holder, file, me.host)) return err(holder);
    // Stale. Move it aside (only one taker can), check it was the stale one, then create ours.
    const aside = `${file}.stale.${process.pid}`;
    try {
      renameSync(file, aside);
    } catch {
      continue; // someone else moved it first
    }
    const moved = readHolder(aside);
    if (moved && (moved.pid !== holder.pid || moved.started_at !== holder.started_at)) {
      // Someone else's fresh lock: put it back and report them.
      renameSync(aside, file);
      return err(moved);
    }
    rmSync(aside, { force: true });
    if (tryCreate(file, me)) return ok({ ...lockOf(file, me), tookOver: holder });
  }
  return err(readHolder(file) ?? { pid: 0, host: 'unknown', started_at: 'unknown' });
}

/**
 * Whether a lock can be taken over: its pid is gone on this host, or the file is unreadable and
 * old (a holder killed between creating the file and writing it).
 */
export function isStale(holder: LockHolder, file: string, host: string): boolean {
  if (holder.pid === 0) {
    try {
      return Date.now() - lstatSync(file).mtimeMs > 2000;
    } catch {
      return false;
    }
  }
  return holder.host === host && !isAlive(holder.pid);
}

/**
 * Creates the lock whole or not at all: its content goes to a temp file first, which is then
 * hard-linked to `lock` (link(2) fails if `lock` exists, link or not). A restore killed at any
 * moment leaves no lock, or a complete one: never an empty lock that the next apply would have
 * to wait out as "being written". Where hard links are not supported, O_EXCL and a write.
 */
function tryCreate(file: string, holder: LockHolder): boolean {
  const content = `${JSON.stringify(holder)}\n`;
  const temp = join(dirname(file), `.lock.${process.pid}.${randomBytes(4).toString('hex')}`);
  const fd = openStateFile(temp, 'create');
  try {
    try {
      writeAll(fd, content);
    } finally {
      closeSync(fd);
    }
    linkSync(temp, file);
    return true;
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'EEXIST') return false;
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP')
      return createExclusive(file, content);
    throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}

function createExclusive(file: string, content: string): boolean {
  let fd: number;
  try {
    fd = openStateFile(file, 'create');
  } catch (error) {
    if (errnoOf(error) === 'EEXIST') return false;
    throw error;
  }
  try {
    writeAll(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The lock's holder; a lock that is a symbolic link is refused (StateError), never followed. */
export function readHolder(file: string): LockHolder | undefined {
  const text = readStateFile(file);
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    return {
      pid: Number(parsed.pid),
      host: String(parsed.host),
      started_at: String(parsed.started_at),
      ...(parsed.run ? { run: parsed.run } : {}),
    };
  } catch {
    // A lock being written this instant, or garbage: treat as held by an unknown, live holder.
    return { pid: 0, host: 'unknown (unreadable lock file)', started_at: 'unknown' };
  }
}

function lockOf(file: string, holder: LockHolder): Lock {
  let released = false;
  return {
    setRun(run) {
      // Replaced whole: a crash mid-write leaves the lock as it was, never empty (which would
      // read as held by an unknown holder). The run is a courtesy to `status`: were it not
      // recorded (a full disk), the lock still holds, and the journal's own write fails and
      // stops the run with its error.
      try {
        writeFileAtomic(file, `${JSON.stringify({ ...holder, run })}\n`);
      } catch {
        // see above
      }
    },
    release() {
      if (released) return;
      released = true;
      const current = readHolder(file);
      if (current?.pid === holder.pid && current.host === holder.host) rmSync(file, { force: true });
    },
  };
}
