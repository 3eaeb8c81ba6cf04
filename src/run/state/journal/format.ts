import { createHash } from 'node:crypto';

/**
 * The journal's line format (SPEC section 5): one JSON object per line with `seq`, `time`, `run`,
 * `event`, the event's fields, and `hash` = hex sha256 of the previous line's hash followed by
 * this line as serialized without `hash`; the first line chains from 64 zeros. `hash` is always
 * the last key, so a line's hashed text is exactly the line with its `,"hash":"..."` removed.
 */
export const GENESIS = '0'.repeat(64);

export interface JournalLine {
  seq: number;
  time: string;
  run: string;
  event: string;
  hash: string;
  [field: string]: unknown;
}

export function chainHash(previous: string, body: string): string {
  return createHash('sha256').update(previous).update(body).digest('hex');
}

/** Serializes a line (without `hash`) and returns it with its hash, ready to append. */
export function sealLine(
  previous: string,
  fields: Omit<JournalLine, 'hash'>,
): { text: string; hash: string } {
  const body = JSON.stringify(fields);
  const hash = chainHash(previous, body);
  return { text: `${body.slice(0, -1)},"hash":"${hash}"}\n`, hash };
}

const SEALED = /^(\{.*),"hash":"([0-9a-f]{64})"\}$/;

/** Splits a sealed line into the text that was hashed and its hash; undefined if it is not one. */
export function unsealLine(line: string): { body: string; hash: string } | undefined {
  const match = SEALED.exec(line);
  return match ? { body: `${match[1]}}`, hash: match[2]! } : undefined;
}
