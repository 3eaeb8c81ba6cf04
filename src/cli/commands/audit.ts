import { readFileSync } from 'node:fs';
import { parseJournal } from '../../run/state/journal/read.js';
import { UsageError } from '../errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';

/** `restore audit verify <journal>`: exit 0 with the line count when the hash chain holds, else 1. */
export async function runAuditVerify(file: string, io: Io): Promise<ExitCode> {
  let read: ReturnType<typeof parseJournal>;
  try {
    // A file the user names: followed if it is a link (state files of a run never are).
    read = parseJournal(readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT'
        ? `${file}: no such file`
        : code === 'EISDIR'
          ? `${file} is a directory`
          : `${file}: cannot read (${code})`,
    );
  }
  if (read.broken) {
    io.stdout.write(`${file}: chain broken at line ${read.broken.line}: ${read.broken.reason}\n`);
    return EXIT.invalid;
  }
  const torn = read.torn ? ' (the last line was cut short by a crash and is not counted)' : '';
  io.stdout.write(`${file}: ${read.lines} lines, hash chain intact${torn}\n`);
  return EXIT.ok;
}
