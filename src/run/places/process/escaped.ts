import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from '../../engine/sleep.js';

/**
 * Processes that left their command's process group. Stopping a group (SIGTERM, then SIGKILL)
 * reaches everything a command started, except what called setsid() or setpgid() on the way (a
 * double-forking daemon, `setsid server &`): those outlive the stop and keep the port. Every
 * command restore starts carries a fresh mark in its environment, which its children inherit
 * whatever group they move to; after a stop, the processes still carrying it have escaped.
 * Found through /proc (Linux; elsewhere nothing is found), for processes of restore's own user.
 */

/** The environment variable that marks a command and everything it starts. */
export const SPAWN_MARK = 'RESTORE_SPAWN';

/** A fresh mark for one command (one attempt of one service). */
export function newMark(): string {
  return randomBytes(9).toString('base64url');
}

/** The environment entry of a mark, to add to a command's environment. */
export function markEnv(mark: string): Record<string, string> {
  return { [SPAWN_MARK]: mark };
}

export interface EscapedProcess {
  pid: number;
  /** Its command line, words joined by spaces (cut to 200 characters). */
  command: string;
}

/** Live processes (zombies excluded) whose environment carries `mark`. */
export function findMarked(mark: string): EscapedProcess[] {
  const needle = Buffer.from(`${SPAWN_MARK}=${mark}\0`);
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: EscapedProcess[] = [];
  for (const entry of entries) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`).includes(needle)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.charAt(stat.lastIndexOf(')') + 2);
      if (state === 'Z' || state === 'X') continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      found.push({ pid: Number(entry), command: command.slice(0, 200) });
    } catch {
      // Gone meanwhile, or another user's.
    }
  }
  return found;
}

/**
 * Stops what carries `mark` after its group was stopped: SIGTERM to each, SIGKILL after
 * `graceMs` to any left. Returns what it found (empty when nothing escaped).
 */
export async function stopEscaped(mark: string, graceMs: number): Promise<EscapedProcess[]> {
  const escaped = findMarked(mark);
  if (escaped.length === 0) return escaped;
  const signal = (pid: number, name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // Gone already.
    }
  };
  for (const { pid } of escaped) signal(pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (findMarked(mark).length > 0 && Date.now() < until) await sleep(25);
  for (const { pid } of findMarked(mark)) signal(pid, 'SIGKILL');
  return escaped;
}
