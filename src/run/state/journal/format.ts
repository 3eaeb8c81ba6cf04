import { createHash } from 'node:crypto';
import type { RunEvent } from '../../events.js';

/**
 * The journal's line format (SPEC section 5): one JSON object per line with `seq`, `time`, `run`,
 * `event`, the event's fields, and `hash` = hex sha256 of the previous line's hash followed by
 * this line as serialized without `hash`; the first line chains from 64 zeros. `hash` is always
 * the last key, so a line's hashed text is exactly the line with its `,"hash":"..."` removed.
 */
export const GENESIS = '0'.repeat(64);

/** The events a journal records: all but service output, which is not a state change (run log only). */
export type JournalEvent = Exclude<RunEvent, { type: 'service.output' }>;
export type JournalEventType = JournalEvent['type'];

/** What every line carries around its event. */
export interface Envelope {
  seq: number;
  /** ISO 8601, the event's stamp. */
  time: string;
  run: string;
  hash: string;
}

/** An event as a line holds it: its `type` is the line's `event`; its other fields are as emitted. */
export type JournalEventOf<E extends RunEvent> = E extends RunEvent
  ? { event: E['type'] } & Omit<E, 'type'>
  : never;

/** A journal line read back: the envelope and one of the events the journal records. */
export type JournalEntry = Envelope & JournalEventOf<JournalEvent>;

/**
 * Every event a journal records, once: the compiler holds this to the union (a name missing or one
 * too many is an error), and the reader holds lines to this, so a line of an event restore does not
 * know (a later version's) stays in the chain and is left out of the replay.
 */
const JOURNAL_EVENTS = {
  'run.started': true,
  'run.output-lost': true,
  'run.resumed': true,
  'stage.started': true,
  'stage.approved': true,
  'stage.waiting-approval': true,
  'run.awaiting-approval': true,
  'service.starting': true,
  'service.attempt': true,
  'service.probe': true,
  'service.healthy': true,
  'service.already-healthy': true,
  'service.failed': true,
  'service.verified': true,
  'service.blocked': true,
  'service.warning': true,
  'service.skipped': true,
  'service.rolled-back': true,
  'service.escaped': true,
  'service.in-flight': true,
  'stage.finished': true,
  'run.interrupted': true,
  'run.finished': true,
  'notify.failed': true,
  'service.torn-down': true,
  'drill.torn-down': true,
} as const satisfies Record<JournalEventType, true>;

export const JOURNAL_EVENT_TYPES = Object.keys(JOURNAL_EVENTS) as JournalEventType[];

export function isJournalEventType(name: string): name is JournalEventType {
  return Object.hasOwn(JOURNAL_EVENTS, name);
}

/**
 * A line as the chain sees it: the envelope with any event name, the rest unread. Its fields
 * are what `sealLine` hashes, in the order written.
 */
export type SealedLine = Envelope & { event: string; [field: string]: unknown };

export function chainHash(previous: string, body: string): string {
  return createHash('sha256').update(previous).update(body).digest('hex');
}

/** Serializes a line (without `hash`) and returns it with its hash, ready to append. */
export function sealLine(previous: string, fields: Omit<SealedLine, 'hash'>): { text: string; hash: string } {
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

/**
 * Reads a parsed line's envelope: undefined unless `seq`, `time`, `run` and `event` have their
 * types (anything else is not a line restore wrote, whatever its hash).
 */
export function asSealedLine(value: unknown): SealedLine | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { seq, time, run, event, hash } = value as Record<string, unknown>;
  const fits =
    typeof seq === 'number' &&
    typeof time === 'string' &&
    typeof run === 'string' &&
    typeof event === 'string' &&
    typeof hash === 'string';
  return fits ? (value as SealedLine) : undefined;
}

/**
 * Whether a line is of an event restore knows, and so a typed entry. Only the event name is
 * checked: the fields are as restore's writer put them, the chain vouching for that.
 */
export function isJournalEntry(line: SealedLine): line is SealedLine & JournalEntry {
  return isJournalEventType(line.event);
}
