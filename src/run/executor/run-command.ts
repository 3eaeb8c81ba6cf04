import { stat } from 'node:fs/promises';
import { formatCommand } from '../../plan/command-text.js';
import { formatDuration } from '../../util/duration.js';
import { launcher } from './launch.js';
import { LineSplitter } from './lines.js';
import { terminateGroup } from './process-group.js';
import type { CommandFailure, CommandRecord, CommandSpec, OutputListener } from './types.js';

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
 *
 * Bare `child_process.spawn` (launch.ts) rather than execa: execa cost about 3 ms more per
 * command on the benchmark machine (11.1-12.8 ms against 8.4-9.8 ms), a third of the floor, and
 * the apply overhead budget is 1.25x that floor. Process groups, line splitting and deadlines
 * are ours anyway. During `apply`, processes are started by the spawner helper (spawner.ts).
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

  if (options.signal?.aborted)
    return record({ failure: 'interrupted', message: 'interrupted before it started' });

  const onLine = options.onLine;
  const splitters = {
    stdout: new LineSplitter((line) => onLine?.('stdout', line)),
    stderr: new LineSplitter((line) => onLine?.('stderr', line)),
  };
  const launched = await launcher().launch(
    { file: argv[0] ?? '', args: argv.slice(1), cwd: spec.cwd, env: commandEnv(spec.env) },
    (stream, chunk) => splitters[stream].push(chunk),
  );
  if (!launched.ok) {
    const program = argv[0] ?? '';
    // spawn says ENOENT for a missing working directory too: tell the two apart only now,
    // rather than paying a stat for every command.
    const badCwd = launched.code === 'ENOENT' ? await checkDirectory(spec.cwd) : undefined;
    const message = badCwd
      ? badCwd
      : launched.code === 'ENOENT'
        ? `command not found: ${program}`
        : launched.code === 'EACCES'
          ? `permission denied: ${program}`
          : `could not start: ${launched.message}`;
    return record({ failure: 'spawn-error', message });
  }
  const { pid, finished } = launched.process;

  let stoppedFor: 'timeout' | 'interrupted' | undefined;
  const stop = (why: 'timeout' | 'interrupted') => {
    if (stoppedFor) return;
    stoppedFor = why;
    void terminateGroup(pid, options.killGraceMs ?? 5000);
  };
  const timer = spec.timeoutMs !== null ? setTimeout(() => stop('timeout'), spec.timeoutMs) : undefined;
  const onAbort = () => stop('interrupted');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  try {
    const { exitCode, signal } = await finished;
    splitters.stdout.end();
    splitters.stderr.end();
    if (stoppedFor === 'timeout') {
      const message = `timed out after ${formatDuration(spec.timeoutMs ?? 0)}`;
      return record({ pid, exitCode, signal, timedOut: true, failure: 'timeout', message });
    }
    if (stoppedFor === 'interrupted')
      return record({ pid, exitCode, signal, failure: 'interrupted', message: 'interrupted' });
    if (signal) return record({ pid, exitCode, signal, failure: 'killed', message: `killed by ${signal}` });
    if (exitCode !== 0) {
      return record({
        pid,
        exitCode,
        signal,
        failure: 'exit-non-zero',
        message: `exited with code ${exitCode}`,
      });
    }
    return record({ pid, exitCode, signal, failure: null, message: 'exited with code 0' });
  } finally {
    if (timer) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    // A stopped command's group is gone before its record is: nothing it started survives it.
    if (stoppedFor) await terminateGroup(pid, options.killGraceMs ?? 5000);
  }
}

let baseEnv: NodeJS.ProcessEnv | undefined;

/**
 * restore's environment plus the command's. Reading `process.env` goes through the runtime on
 * every access, so it is copied once; with nothing to add, the child inherits it as it is.
 */
export function commandEnv(extra: Record<string, string>): NodeJS.ProcessEnv | undefined {
  if (Object.keys(extra).length === 0) return undefined;
  baseEnv ??= { ...process.env };
  return { ...baseEnv, ...extra };
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
