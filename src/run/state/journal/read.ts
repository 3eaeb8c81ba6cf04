import { closeSync, readFileSync } from 'node:fs';
import { openStateFile } from '../state-files.js';
import { chainHash, GENESIS, type JournalLine, unsealLine } from './format.js';

export interface JournalRead {
  lines: JournalLine[];
  /** Bytes of the file made of complete lines: a torn last line starts here. */
  completeBytes: number;
  /** The last line was cut short by a crash (no newline, or not valid); it is ignored. */
  torn: boolean;
  /** The first line whose chain does not hold, 1-based, and why; undefined when it all holds. */
  broken?: { line: number; reason: string };
}

/**
 * Reads a journal of the state dir and checks its hash chain. A journal that is a symbolic link
 * is refused (StateError), never read through (nor, on resume, cut short through).
 */
export function readJournal(file: string): JournalRead {
  const fd = openStateFile(file, 'read');
  try {
    return parseJournal(readFileSync(fd, 'utf8'));
  } finally {
    closeSync(fd);
  }
}

/**
 * Checks a journal's text and its hash chain. A last line without a newline, or one that does not
 * parse, is a torn write from a crash: tolerated and reported, not an error.
 */
export function parseJournal(text: string): JournalRead {
  const parts = text.split('\n');
  const endsClean = parts.at(-1) === '';
  if (endsClean) parts.pop();
  const lines: JournalLine[] = [];
  let previous = GENESIS;
  let offset = 0;
  let torn = false;
  let broken: JournalRead['broken'];
  for (const [index, raw] of parts.entries()) {
    const isLast = index === parts.length - 1;
    const complete = !isLast || endsClean;
    const sealed = unsealLine(raw);
    let parsed: JournalLine | undefined;
    try {
      parsed = sealed ? (JSON.parse(raw) as JournalLine) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!sealed || !parsed) {
      if (isLast) {
        torn = true;
        break;
      }
      broken ??= { line: index + 1, reason: 'not a journal line' };
      break;
    }
    if (!complete) {
      // A last line that parses but lacks its newline was still being written: torn.
      torn = true;
      break;
    }
    if (!broken) {
      if (parsed.seq !== index + 1)
        broken = { line: index + 1, reason: `seq is ${parsed.seq}, expected ${index + 1}` };
      else if (chainHash(previous, sealed.body) !== sealed.hash) {
        broken = {
          line: index + 1,
          reason: 'hash does not match (line edited, or a line before it removed or reordered)',
        };
      }
    }
    previous = sealed.hash;
    lines.push(parsed);
    offset += Buffer.byteLength(raw) + 1;
  }
  return { lines, completeBytes: offset, torn, ...(broken ? { broken } : {}) };
}
