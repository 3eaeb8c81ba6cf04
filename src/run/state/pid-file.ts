import { closeSync, fstatSync, readFileSync, rmSync } from 'node:fs';
import { groupAlive, isAlive } from '../places/process/process-group.js';
import { openStateFile, StateError, writeFileAtomic } from './state-files.js';

/**
 * Writes a daemon's pid file (0600) by temp file and rename: a crash mid-write leaves no empty
 * pid file behind (which would read as "no daemon" and get a second copy started), and a link
 * planted in its place is replaced, not written through.
 */
export function writePidFile(pidFile: string, pid: number): void {
  writeFileAtomic(pidFile, `${pid}\n`);
}

/**
 * A daemon's pid file, read back. The pid counts only if that process is alive and started no
 * later than the file was written: a pid reused by another program since is never signalled.
 * A pid file that is a symbolic link is refused (StateError), never read through.
 */
export function livePidFrom(pidFile: string): number | undefined {
  let pid: number;
  let written: number;
  let fd: number;
  try {
    fd = openStateFile(pidFile, 'read');
  } catch (error) {
    if (error instanceof StateError) throw error;
    return undefined;
  }
  try {
    pid = Number(readFileSync(fd, 'utf8').trim());
    written = fstatSync(fd).mtimeMs;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
  if (!Number.isInteger(pid) || pid <= 1 || !(isAlive(pid) || groupAlive(pid))) return undefined;
  const started = processStartTime(pid);
  // Allow for clock-tick rounding; a process started well after the file is someone else's.
  if (started !== undefined && started > written + 2000) return undefined;
  return pid;
}

export function removePidFile(pidFile: string): void {
  rmSync(pidFile, { force: true });
}

/** When a process started (epoch ms), from /proc on Linux; undefined elsewhere. */
function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const bootMs = Date.now() - uptime * 1000;
    return bootMs + (ticks / 100) * 1000;
  } catch {
    return undefined;
  }
}
