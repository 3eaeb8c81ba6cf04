import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll } from 'vitest';

/**
 * Registered in vitest.config.ts for every test file: each file gets a marker in its environment,
 * inherited by every process the file starts (the CLI, fixtures, shells, what they leave behind,
 * whatever their argv becomes after an `exec`). After the file, no process may still carry it:
 * the file fails naming the leaked processes, which are then killed.
 */
export const TEST_RUN_VAR = 'RESTORE_TEST_RUN';
const id = `${process.pid}-${randomBytes(6).toString('hex')}`;
process.env[TEST_RUN_VAR] = id;
const needle = `${TEST_RUN_VAR}=${id}\0`;

/** How long processes killed by a test's clean-up get to disappear before they count as leaked. */
const SETTLE_MS = 3000;

interface Leaked {
  pid: number;
  command: string;
}

/** Live processes (zombies do not count) whose environment carries this file's marker. */
export function markedProcesses(): Leaked[] {
  const found: Leaked[] = [];
  for (const entry of readdirSync('/proc')) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 'Z' || state === 'X') continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      found.push({ pid: Number(entry), command });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found.filter((leak) => leak.pid !== process.pid);
}

afterAll(async () => {
  const until = Date.now() + SETTLE_MS;
  let leaked = markedProcesses();
  while (leaked.length > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    leaked = markedProcesses();
  }
  if (leaked.length === 0) return;
  for (const { pid } of leaked) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone at last.
    }
  }
  throw new Error(
    `processes started by this test file are still running (now killed):\n${leaked
      .map((leak) => `  pid ${leak.pid}: ${leak.command}`)
      .join('\n')}`,
  );
});
