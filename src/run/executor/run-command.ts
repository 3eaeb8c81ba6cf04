import { stat } from 'node:fs/promises';
import { execa } from 'execa';
import { formatCommand } from '../../plan/command-text.js';
import { formatDuration } from '../../util/duration.js';
import { terminateGroup } from './process-group.js';
import type { CommandFailure, CommandRecord, CommandSpec, OutputListener } from './types.js';

/** How long output is still read after a command exits, from what it left running. */
const OUTPUT_DRAIN_MS = 1000;

export interface RunOptions {
  /** Aborting terminates the command's process group: failure `interrupted`. */
  signal?: AbortSignal;
  /** Called for every line of output, as it comes; output is never buffered whole. */
  onLine?: OutputListener;
  /** Between SIGTERM and SIGKILL when the command is stopped. */
  killGraceMs?: number;
}

/**
 * Runs one command to completion (SPEC section 4, steps 5 and 8): without a shell unless asked,
 * in its own process group, output streamed line by line; past its deadline or on interruption
 * the whole group is terminated. Never throws for a failing command: the record says what happened.
 */
export async function runCommand(spec: CommandSpec, options: RunOptions = {}): Promise<CommandRecord> {
  const startedAt = Date.now();
  const argv = spec.shell ? ['/bin/sh', '-c', spec.argv[0] ?? ''] : spec.argv;
  const base = { command: formatCommand(spec), argv: spec.argv, cwd: spec.cwd, startedAt };
  const record = (
    fields: Partial<CommandRecord> & { failure: CommandFailure | null; message: string },
  ): CommandRecord => ({
    ...base,
    pid: null,
    durationMs: Date.now() - startedAt,
    exitCode: null,
    signal: null,
    timedOut: false,
    ...fields,
  });

  const badCwd = await checkDirectory(spec.cwd);
  if (badCwd) return record({ failure: 'spawn-error', message: badCwd });
  if (options.signal?.aborted)
    return record({ failure: 'interrupted', message: 'interrupted before it started' });

  const onLine = options.onLine;
  const subprocess = execa(argv[0] ?? '', argv.slice(1), {
    cwd: spec.cwd,
    env: spec.env,
    extendEnv: true,
    detached: true,
    stdin: 'ignore',
    buffer: false,
    reject: false,
    stripFinalNewline: false,
    // Generator transforms see the output line by line; yielding nothing keeps nothing in memory.
    // biome-ignore lint/correctness/useYield: a transform that consumes every line
    stdout: function* (line: unknown) {
      onLine?.('stdout', String(line));
    },
    // biome-ignore lint/correctness/useYield: a transform that consumes every line
    stderr: function* (line: unknown) {
      onLine?.('stderr', String(line));
    },
  });

  let stoppedFor: 'timeout' | 'interrupted' | undefined;
  const stop = (why: 'timeout' | 'interrupted') => {
    if (stoppedFor || subprocess.pid === undefined) return;
    stoppedFor = why;
    void terminateGroup(subprocess.pid, options.killGraceMs ?? 5000);
  };
  const timer = spec.timeoutMs !== null ? setTimeout(() => stop('timeout'), spec.timeoutMs) : undefined;
  const onAbort = () => stop('interrupted');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // A command that started something in the background (`pg_ctl start` without -l, `cmd &`)
  // leaves our pipes open after it exits. Its exit is what counts: stop reading soon after it.
  let drain: NodeJS.Timeout | undefined;
  subprocess.on('exit', () => {
    drain = setTimeout(() => {
      subprocess.stdout?.destroy();
      subprocess.stderr?.destroy();
    }, OUTPUT_DRAIN_MS);
  });

  try {
    const result = await subprocess;
    const pid = subprocess.pid ?? null;
    if (
      result.code === 'ENOENT' ||
      result.code === 'EACCES' ||
      (result.failed && result.exitCode === undefined && !result.signal)
    ) {
      const program = spec.shell ? '/bin/sh' : (spec.argv[0] ?? '');
      const message =
        result.code === 'ENOENT'
          ? `command not found: ${program}`
          : result.code === 'EACCES'
            ? `permission denied: ${program}`
            : `could not start: ${result.shortMessage ?? 'unknown error'}`;
      return record({ pid, failure: 'spawn-error', message });
    }
    const exitCode = result.exitCode ?? null;
    const signal = result.signal ?? null;
    if (stoppedFor === 'timeout') {
      return record({
        pid,
        exitCode,
        signal,
        timedOut: true,
        failure: 'timeout',
        message: `timed out after ${formatDuration(spec.timeoutMs ?? 0)}`,
      });
    }
    if (stoppedFor === 'interrupted') {
      return record({ pid, exitCode, signal, failure: 'interrupted', message: 'interrupted' });
    }
    if (signal) return record({ pid, exitCode, signal, failure: 'killed', message: `killed by ${signal}` });
    if (exitCode !== 0)
      return record({
        pid,
        exitCode,
        signal,
        failure: 'exit-non-zero',
        message: `exited with code ${exitCode}`,
      });
    return record({ pid, exitCode, signal, failure: null, message: 'exited with code 0' });
  } finally {
    if (timer) clearTimeout(timer);
    if (drain) clearTimeout(drain);
    options.signal?.removeEventListener('abort', onAbort);
    // A stopped command's group is gone before its record is: nothing it started survives it.
    if (subprocess.pid !== undefined && stoppedFor)
      await terminateGroup(subprocess.pid, options.killGraceMs ?? 5000);
  }
}

/** Why `dir` cannot be a working directory, or undefined when it can. */
export async function checkDirectory(dir: string): Promise<string | undefined> {
  try {
    const info = await stat(dir);
    return info.isDirectory() ? undefined : `working directory ${dir} is not a directory`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? `working directory ${dir} does not exist`
      : `working directory ${dir} cannot be used (${code ?? 'error'})`;
  }
}
