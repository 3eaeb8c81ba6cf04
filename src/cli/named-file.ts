import { readFileSync } from 'node:fs';
import { errnoOf } from '../run/state/state-files.js';
import { UsageError } from './errors.js';

/**
 * Reads a file the user names on the command line (a journal, a bundle): followed if it is a link,
 * as any file a user points at (state files of a run never are). One that cannot be read is a
 * usage error (2), said in words.
 */
export function readNamedFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = errnoOf(error);
    throw new UsageError(
      code === 'ENOENT'
        ? `${file}: no such file`
        : code === 'EISDIR'
          ? `${file} is a directory`
          : `${file}: cannot read (${code})`,
    );
  }
}
