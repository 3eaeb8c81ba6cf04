import { closeSync, readFileSync } from 'node:fs';
import { openStateFile } from '../state-files.js';
import {
  asSealedLine,
  chainHash,
  GENESIS,
  isJournalEntry,
  type JournalEntry,
  type SealedLine,
  unsealLine,
} from './format.js';

export interface JournalRead {
  /** The complete lines of events restore knows, typed, in order: what a replay folds. */
  entries: JournalEntry[];
  /** How many complete lines the chain has, those of events restore does not know included. */
  lines: number;
  /** The last complete line's `seq` and `hash`: what an appended line continues from. */
  tip?: { seq: number; hash: string };
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
 * parse, is a torn write from a crash: tolerated and reported, not an error. A line whose event
 * restore does not know counts in the chain and is left out of `entries`, as a replay always
 * passed over it.
 */
export function parseJournal(text: string): JournalRead {
  const parts = text.split('\n');
  const endsClean = parts.at(-1) === '';
  if (endsClean) parts.pop();
  const entries: JournalEntry[] = [];
  let tip: JournalRead['tip'];
  let previous = GENESIS;
  let offset = 0;
  let lines = 0;
  let torn = false;
  let broken: JournalRead['broken'];
  for (const [index, raw] of parts.entries()) {
    const isLast = index === parts.length - 1;
    const complete = !isLast || endsClean;
    const sealed = unsealLine(raw);
    const parsed = sealed ? parseLine(raw) : undefined;
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
    lines += 1;
    tip = { seq: parsed.seq, hash: sealed.hash };
    if (isJournalEntry(parsed)) entries.push(parsed);
    offset += Buffer.byteLength(raw) + 1;
  }
  return {
    entries,
    lines,
    ...(tip ? { tip } : {}),
    completeBytes: offset,
    torn,
    ...(broken ? { broken } : {}),
  };
}

function parseLine(raw: string): SealedLine | undefined {
  try {
    return asSealedLine(JSON.parse(raw));
  } catch {
    return undefined;
  }
}
