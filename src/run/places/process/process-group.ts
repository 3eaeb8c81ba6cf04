import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from '../../engine/sleep.js';

/** How often a terminated group is looked at until it is gone. */
const POLL_MS = 25;
/** How long a group is waited for after SIGKILL, which cannot be ignored. */
const AFTER_KILL_MS = 1000;

/**
 * Whether signal 0 reaches `target` (a pid, or a negative process group id). EPERM means it is
 * there but someone else's; ESRCH that it is gone.
 */
function signalReaches(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The state letter and process group of a process, from /proc on Linux; undefined elsewhere or if gone. */
function procStat(pid: number | string): { state: string; pgrp: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', pgrp: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

/**
 * Whether a group that signal 0 still reaches has a member that is not a zombie. A zombie has
 * exited: when its parent is gone and init is slow to reap it (some containers), it would otherwise
 * keep its group "alive" until SIGKILL, which it cannot even receive. Called once signal 0 has
 * reached the group.
 */
function groupHasLiveMember(pgid: number): boolean {
  // The leader, most often still there, spares a walk over every process.
  const leader = procStat(pgid);
  if (leader?.pgrp === pgid && leader.state !== 'Z' && leader.state !== 'X') return true;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  let sawAny = false;
  for (const entry of entries) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    const stat = procStat(entry);
    if (stat?.pgrp !== pgid) continue;
    sawAny = true;
    if (stat.state !== 'Z' && stat.state !== 'X') return true;
  }
  // Only zombies: gone. None seen although the signal reached the group: /proc hides them
  // (hidepid), so the signal is trusted.
  return !sawAny;
}

let procChecked: boolean | undefined;
/** Whether /proc shows this process itself: a usable /proc. */
function procMounted(): boolean {
  procChecked ??= procStat(process.pid) !== undefined;
  return procChecked;
}

/** Whether any process of the group led by `pid` is still there (zombies do not count). */
export function groupAlive(pid: number): boolean {
  if (!signalReaches(-pid)) return false;
  return procMounted() ? groupHasLiveMember(pid) : true;
}

/** Whether the process `pid` is still there (a zombie, which has exited, does not count). */
export function isAlive(pid: number): boolean {
  if (!signalReaches(pid)) return false;
  if (!procMounted()) return true;
  const stat = procStat(pid);
  // Gone between the signal and the read, or a zombie waiting to be reaped.
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Stops a whole process group (SPEC section 4, step 8): SIGTERM, then SIGKILL if anything of it
 * is still there after `graceMs`. A command that forked children leaves nothing behind. Never
 * throws; a group that is already gone is left alone.
 */
export async function terminateGroup(pid: number, graceMs = 5000): Promise<void> {
  if (!groupAlive(pid)) return;
  signalGroup(pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (groupAlive(pid) && Date.now() < until) await sleep(POLL_MS);
  if (!groupAlive(pid)) return;
  signalGroup(pid, 'SIGKILL');
  const killedBy = Date.now() + AFTER_KILL_MS;
  while (groupAlive(pid) && Date.now() < killedBy) await sleep(POLL_MS);
}
