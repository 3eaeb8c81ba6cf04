import type { CommandRecord } from './types.js';

/**
 * A command's outcome in one line, named for its role: `start command: exited with code 7: boom`,
 * `start command: command not found: pg_ctl`, `stop command: timed out after 30s`. The message
 * may be a verb phrase or a noun phrase (a host's own words): a colon reads right before either.
 */
export function labelled(label: string, record: Pick<CommandRecord, 'message'>): string {
  return `${label}: ${record.message}`;
}
