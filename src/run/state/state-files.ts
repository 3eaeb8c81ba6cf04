import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * State files are opened as state, not as paths (STYLE section 9): no symbolic link is ever
 * followed, whole files are replaced by rename, and the directories that hold them belong to the
 * user running restore and to nobody else. git refuses a repository it does not own for the same
 * reason: whoever can write in the state dir can make restore write, or signal, anything.
 */

/**
 * Why state could not be used. `unusable`: found before anything ran (a directory that cannot be
 * created or written, is not yours, is writable by others, or a symbolic link where a state file
 * should be); `io`: a write failed while a run was going on (a full disk, an I/O error).
 */
export class StateError extends Error {
  constructor(
    message: string,
    readonly kind: 'unusable' | 'io',
    readonly path: string,
  ) {
    super(message);
  }
}

const { O_NOFOLLOW, O_NONBLOCK, O_CREAT, O_EXCL, O_WRONLY, O_APPEND, O_RDONLY } = constants;

/** How a state file is opened; never through a symbolic link. Created files are mode 0600. */
export type OpenHow = 'read' | 'append' | 'create' | 'extend';

const FLAGS: Record<OpenHow, number> = {
  read: O_RDONLY,
  append: O_WRONLY | O_APPEND | O_CREAT,
  create: O_WRONLY | O_CREAT | O_EXCL,
  /** Appends to a file that must exist. */
  extend: O_WRONLY | O_APPEND,
};

/**
 * Opens a state file without following a link in its last component (ELOOP becomes a refusal),
 * and only if it is a regular file: a FIFO planted in its place would otherwise block restore on
 * open or read (O_NONBLOCK keeps the open from waiting; it does nothing to a regular file).
 */
export function openStateFile(path: string, how: OpenHow): number {
  let fd: number;
  try {
    fd = openSync(path, FLAGS[how] | O_NOFOLLOW | O_NONBLOCK, 0o600);
  } catch (error) {
    if (errnoOf(error) === 'ELOOP') throw linkRefused(path);
    if (errnoOf(error) === 'ENXIO') throw notAFile(path);
    throw error;
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw notAFile(path);
  }
  return fd;
}

function notAFile(path: string): StateError {
  return new StateError(
    `refusing ${path}: it is not a regular file, and restore keeps only files it wrote in its state dir; remove it`,
    'unusable',
    path,
  );
}

/** Reads a state file as text, refusing a link; undefined when it does not exist. */
export function readStateFile(path: string): string | undefined {
  let fd: number;
  try {
    fd = openStateFile(path, 'read');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Writes all of `data` (writeSync may write part of it and say so). */
export function writeAll(fd: number, data: string | Buffer): void {
  const buffer = typeof data === 'string' ? Buffer.from(data) : data;
  let done = 0;
  while (done < buffer.length) done += writeSync(fd, buffer, done, buffer.length - done);
}

/**
 * Replaces a whole file (a pid file, the lock, a metrics file, an evidence bundle) atomically: a
 * temp file next to it, created exclusively (never through a link) with mode 0600 (or `mode`),
 * written, flushed to disk, then renamed over it. A crash at any point leaves the old content or
 * the new, never an empty or half file; a link at `path` is replaced, its target untouched. The
 * temp name starts with a dot and ends in `.tmp`, so a reader of `*.prom` or `*.tar.gz` never
 * sees it.
 */
export function writeFileAtomic(
  path: string,
  content: string | Buffer,
  options: { mode?: number } = {},
): void {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openStateFile(temp, 'create');
  try {
    try {
      writeAll(fd, content);
      if (options.mode !== undefined) fchmodSync(fd, options.mode);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** The error code of a failed system call, if it is one. */
export function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

const WHAT_TO_DO = 'choose another state dir with --state-dir or RESTORE_STATE_DIR';

function linkRefused(path: string): StateError {
  return new StateError(
    `refusing ${path}: it is a symbolic link, and restore does not write state through links; remove it (its target was not touched)`,
    'unusable',
    path,
  );
}

/**
 * Checks a directory of the state dir: a real directory (`followLink` only for the state dir
 * itself, which the user names), owned by the user running restore, writable by no one else.
 */
export function checkStateDirectory(dir: string, followLink = false): void {
  let stats: Stats;
  try {
    stats = followLink ? statSync(dir) : lstatSync(dir);
  } catch (error) {
    throw unusable(dir, error);
  }
  if (stats.isSymbolicLink()) throw linkRefused(dir);
  if (!stats.isDirectory()) {
    throw new StateError(`refusing state dir ${dir}: it is not a directory; ${WHAT_TO_DO}`, 'unusable', dir);
  }
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) {
    throw new StateError(
      `refusing state dir ${dir}: it belongs to uid ${stats.uid}, not to you (uid ${uid}), and whoever owns it can make restore write or stop anything; use your own, or ${WHAT_TO_DO}`,
      'unusable',
      dir,
    );
  }
  if ((stats.mode & 0o022) !== 0) {
    const mode = (stats.mode & 0o777).toString(8);
    throw new StateError(
      `refusing state dir ${dir}: it is writable by ${stats.mode & 0o002 ? 'everyone' : 'its group'} (mode ${mode}), who could plant files restore would trust; run chmod go-w ${dir}, or ${WHAT_TO_DO}`,
      'unusable',
      dir,
    );
  }
}

/** Creates a state directory (mode 0700) if it is missing, then checks it. */
export function ensureStateDirectory(dir: string, followLink = false): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    // EEXIST: something that is not a directory (or a dangling link) is in the way; say which.
    if (errnoOf(error) !== 'EEXIST') throw unusable(dir, error);
  }
  checkStateDirectory(dir, followLink);
}

/** A state directory that cannot be created or read, in words, with what to do. */
export function unusable(dir: string, error: unknown): StateError {
  if (error instanceof StateError) return error;
  return new StateError(`cannot use state dir ${dir}: ${inWords(error)}; ${WHAT_TO_DO}`, 'unusable', dir);
}

/** What a failed system call on state means, for people: one table for every message here. */
const ERRNO_WORDS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'no space left on the device',
  ENOTDIR: 'a file is in the way',
  EIO: 'an I/O error',
};

function inWords(error: unknown): string {
  const code = errnoOf(error);
  return (code === undefined ? undefined : ERRNO_WORDS[code]) ?? code ?? String(error);
}

/**
 * Refuses a plan's state that holds a symbolic link (or a FIFO, a directory...) where restore
 * keeps a file: the lock, pid files and daemon logs, journals and run logs. Checked before anything runs, so that a planted
 * link stops the command up front; opening with O_NOFOLLOW is the guard against a link planted
 * after this.
 */
export function refuseNonFilesIn(dirs: readonly string[], files: readonly string[]): void {
  const paths = [...files];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') continue;
      throw unusable(dir, error);
    }
    paths.push(...names.map((name) => join(dir, name)));
  }
  for (const path of paths) {
    let stats: Stats;
    try {
      stats = lstatSync(path);
    } catch {
      continue;
    }
    if (stats.isSymbolicLink()) throw linkRefused(path);
    if (!stats.isFile()) throw notAFile(path);
  }
}

/** A write to state that failed during a run, in words: the path, why, and that the journal holds. */
export function ioFailed(path: string, error: unknown): StateError {
  if (error instanceof StateError) return error;
  return new StateError(`cannot write ${path}: ${inWords(error)}`, 'io', path);
}
