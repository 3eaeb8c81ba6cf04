import { constants, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Result } from '../util/result.js';
import { err, ok } from '../util/result.js';

/** Plans over this size are refused without being read whole (`file-too-large`). */
export const MAX_PLAN_BYTES = 10 * 1024 * 1024;

export type SourceText = { kind: 'text'; text: string } | { kind: 'too-large'; bytes: number };

/** Why a plan file could not be read at all: a usage error (exit 2), not an invalid plan. */
export interface SourceError {
  kind: 'not-found' | 'is-directory' | 'not-regular' | 'unreadable';
  message: string;
}

/**
 * Reads a plan file, refusing anything over MAX_PLAN_BYTES after reading at most one byte more.
 * Only a regular file (or a symlink to one) is read: a FIFO, a terminal or a device would block
 * or never end, so it is refused from its `stat`, before it is opened.
 */
export async function readPlanSource(path: string): Promise<Result<SourceText, SourceError>> {
  try {
    const refused = notRegular(path, await stat(path));
    if (refused) return err(refused);
  } catch (error) {
    return err(describeOpenError(path, error));
  }
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // O_NONBLOCK: should the path be swapped for a FIFO after the stat, opening it cannot block;
    // the fstat below then refuses it.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    return err(describeOpenError(path, error));
  }
  try {
    const stats = await handle.stat();
    const refused = notRegular(path, stats);
    if (refused) return err(refused);
    if (stats.size > MAX_PLAN_BYTES) return ok({ kind: 'too-large', bytes: stats.size });
    // Read in chunks up to the limit: the file may grow while it is read.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(Math.min(1 << 20, MAX_PLAN_BYTES + 1 - total));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > MAX_PLAN_BYTES) return ok({ kind: 'too-large', bytes: total });
    }
    return ok({ kind: 'text', text: decode(Buffer.concat(chunks, total)) });
  } catch (error) {
    return err(describeOpenError(path, error));
  } finally {
    await handle.close();
  }
}

/** Why a file that exists cannot be a plan, or undefined for a regular file. */
function notRegular(path: string, stats: Stats): SourceError | undefined {
  if (stats.isFile()) return undefined;
  if (stats.isDirectory())
    return { kind: 'is-directory', message: `${path} is a directory, not a plan file` };
  const what = stats.isFIFO()
    ? 'a FIFO'
    : stats.isCharacterDevice()
      ? 'a character device'
      : stats.isBlockDevice()
        ? 'a block device'
        : stats.isSocket()
          ? 'a socket'
          : 'a special file';
  return { kind: 'not-regular', message: `${path} is not a regular file (${what}); a plan is a file` };
}

function describeOpenError(path: string, error: unknown): SourceError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return { kind: 'not-found', message: `${path}: no such file` };
    case 'EISDIR':
      return { kind: 'is-directory', message: `${path} is a directory, not a plan file` };
    case 'ENOTDIR':
      return { kind: 'not-found', message: `${path}: no such file (a part of the path is not a directory)` };
    case 'ELOOP':
      return { kind: 'unreadable', message: `${path}: too many levels of symbolic links` };
    case 'EACCES':
    case 'EPERM':
      return { kind: 'unreadable', message: `${path}: permission denied` };
    default:
      return { kind: 'unreadable', message: `${path}: cannot read (${code ?? String(error)})` };
  }
}

/** Bytes that are not UTF-8 text are kept as U+FFFD so that the YAML layer can point at them. */
function decode(bytes: Buffer): string {
  const text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false }).decode(bytes);
  return text;
}
