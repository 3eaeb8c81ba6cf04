import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { BIN, hasStackTrace, spawnCli, whenOutput } from '../helpers/cli.js';
import { useWorkDirs } from '../helpers/e2e.js';
import { eventually } from '../helpers/processes.js';
import { writeFile } from '../helpers/tmp.js';

const workDir = useWorkDirs();

/** Writes the test's plan (named `audience`) into `dir`. */
function writePlan(dir: string, fields: Record<string, unknown>): void {
  writeFile(dir, 'plan.yaml', JSON.stringify({ version: 1, name: 'audience', ...fields }));
}

/** A chain of three one-shots, each taking a moment: the run outlasts its first line of output. */
function chainPlan(dir: string): void {
  writePlan(dir, {
    services: {
      a: { start: 'sleep 0.4' },
      b: { start: 'sleep 0.4', depends_on: ['a'] },
      c: { start: 'sleep 0.4', depends_on: ['b'] },
    },
  });
}

function journalEvents(dir: string): Record<string, unknown>[] {
  const runs = join(dir, 'state', 'audience', 'runs');
  if (!existsSync(runs)) return [];
  const file = readdirSync(runs).find((name) => name.endsWith('.jsonl'));
  if (!file) return [];
  return readFileSync(join(runs, file), 'utf8')
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function expectWholeRun(dir: string): Record<string, unknown>[] {
  const lines = journalEvents(dir);
  const finished = lines.find((line) => line.event === 'run.finished');
  expect(finished?.result).toBe('succeeded');
  expect(lines.filter((line) => line.event === 'service.healthy').map((line) => line.service)).toEqual([
    'a',
    'b',
    'c',
  ]);
  expect(existsSync(join(dir, 'state', 'audience', 'lock'))).toBe(false);
  return lines;
}

/**
 * `restore apply` in a real terminal: script(1) gives it a pty; killing script closes that
 * terminal, as a dropped ssh session or a closed laptop does (the kernel hangs restore up, and
 * its writes to the terminal fail).
 */
function applyInTerminal(dir: string) {
  const command = `exec ${process.execPath} ${BIN} apply plan.yaml --state-dir state`;
  return spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: dir,
    env: { ...process.env, TERM: 'xterm', NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Waits until the run has recorded its end and let go of its lock, with no one watching. */
function runSettled(dir: string, what: string): Promise<void> {
  return eventually(
    () =>
      journalEvents(dir).some((line) => line.event === 'run.finished') &&
      !existsSync(join(dir, 'state', 'audience', 'lock')),
    what,
    20_000,
  );
}

describe('SPEC 4 step 10: a restoration never stops because its audience went away', () => {
  for (const format of ['pretty', 'json']) {
    it(`a closed stdout (| head -1, --log-format ${format}) stops the output, not the run`, async () => {
      const dir = workDir();
      chainPlan(dir);
      const { child, done } = spawnCli(
        ['apply', 'plan.yaml', '--state-dir', 'state', '--log-format', format],
        { cwd: dir },
      );
      await whenOutput(child, '\n');
      // What `head -1` does once it has its line: the reading end of the pipe closes.
      child.stdout!.destroy();
      const result = await done;
      expect(result.code).toBe(EXIT.ok);
      expect(hasStackTrace(result.stderr)).toBe(false);
      const lines = expectWholeRun(dir);
      expect(lines.find((line) => line.event === 'run.output-lost')).toMatchObject({
        stream: 'stdout',
        cause: 'EPIPE',
      });
    });
  }

  it('closed stdout and stderr both: the run still finishes and exits with its own status', async () => {
    const dir = workDir();
    chainPlan(dir);
    const { child, done } = spawnCli(['apply', 'plan.yaml', '--state-dir', 'state'], { cwd: dir });
    await whenOutput(child, '\n');
    child.stdout!.destroy();
    child.stderr!.destroy();
    expect((await done).code).toBe(EXIT.ok);
    expectWholeRun(dir);
  });

  it('SIGHUP with output to pipes: the run goes on and its output with it', async () => {
    const dir = workDir();
    chainPlan(dir);
    const { child, done } = spawnCli(['apply', 'plan.yaml', '--state-dir', 'state'], { cwd: dir });
    await whenOutput(child, 'starting');
    child.kill('SIGHUP');
    const result = await done;
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toMatch(/^c\s+wave-3\s+healthy/m);
    // A service without checks is healthy once its start succeeds, and the line says so.
    expect(result.stdout).toMatch(/^\s*\S+\s+a\s+healthy\s+in \S+ \(no checks/m);
    const lines = expectWholeRun(dir);
    // Pipes are not the terminal: nothing was lost.
    expect(lines.some((line) => line.event === 'run.output-lost')).toBe(false);
  });

  it('a terminal that closes mid-run (a real pty whose master goes away): restoring goes on', async () => {
    const dir = workDir();
    chainPlan(dir);
    const script = applyInTerminal(dir);
    await eventually(
      () => journalEvents(dir).some((line) => line.event === 'service.starting'),
      'the run to start',
      15_000,
    );
    script.kill('SIGKILL');
    await runSettled(dir, 'the run to finish without its terminal and let go of its lock');
    const lines = expectWholeRun(dir);
    // Whichever the kernel delivers first: the hang-up, or the failed write to the closed terminal.
    expect(lines.find((line) => line.event === 'run.output-lost')?.cause).toMatch(/^(SIGHUP|EIO)$/);
  });

  it('a terminal that closes at an approval prompt: nobody can answer, so the run stops resumable (exit 4)', async () => {
    const dir = workDir();
    writePlan(dir, {
      stages: [{ name: 'one' }, { name: 'two', approval: true }],
      services: {
        a: { stage: 'one', start: 'true' },
        b: { stage: 'two', start: 'true', depends_on: ['a'] },
      },
    });
    const script = applyInTerminal(dir);
    await whenOutput(script, 'Start stage');
    script.kill('SIGKILL');
    await runSettled(dir, 'the run to stop at the gate without its terminal');
    const lines = journalEvents(dir);
    expect(lines.find((line) => line.event === 'run.finished')?.result).toBe('awaiting-approval');
    expect(lines.some((line) => line.event === 'stage.approved')).toBe(false);
  });

  it('SIGHUP while down stops services: it goes on stopping them all', async () => {
    const dir = workDir();
    writePlan(dir, {
      services: {
        a: { start: 'true', stop: "sh -c 'sleep 0.5; echo a > stopped-a'" },
        b: { start: 'true', stop: "sh -c 'sleep 0.5; echo b > stopped-b'", depends_on: ['a'] },
      },
    });
    const { child, done } = spawnCli(['down', 'plan.yaml', '--yes', '--state-dir', 'state'], { cwd: dir });
    await whenOutput(child, 'state dir', 'stderr');
    child.kill('SIGHUP');
    const result = await done;
    expect(result.signal).toBeNull();
    expect(result.code).toBe(EXIT.ok);
    expect(existsSync(join(dir, 'stopped-a'))).toBe(true);
    expect(existsSync(join(dir, 'stopped-b'))).toBe(true);
  });
});
