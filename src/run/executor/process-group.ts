import { sleep } from '../sleep.js';

/** Whether any process of the group led by `pid` is still there. */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the process `pid` is still there. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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
 * is still there after `graceMs`. A command that forked children leaves nothing behind.
 */
export async function terminateGroup(pid: number, graceMs = 5000): Promise<void> {
  if (!groupAlive(pid)) return;
  signalGroup(pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (groupAlive(pid) && Date.now() < until) await sleep(25);
  if (groupAlive(pid)) {
    signalGroup(pid, 'SIGKILL');
    for (let i = 0; i < 40 && groupAlive(pid); i++) await sleep(25);
  }
}
