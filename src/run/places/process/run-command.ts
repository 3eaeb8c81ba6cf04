import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { formatCommand } from '../../../plan/command-text.js';
import { formatDuration } from '../../../util/duration.js';
import type { Redactor } from '../../redact.js';
import { markEnv, stopEscaped } from './escaped.js';
import { directLauncher, type Launcher, OUTPUT_DRAIN_MS, PID_FILE_ERROR } from './launch.js';
import { LineSplitter } from './lines.js';
import { terminateGroup } from './process-group.js';
import { StderrTail, withStderr } from './stderr-tail.js';
import type { CommandFailure, CommandRecord, CommandSpec, OutputListener } from './types.js';

export interface RunOptions {
  /** Aborting terminates the command's process group: failure `interrupted`. */
  signal?: AbortSignal;
  /** Called for every line of output, as it comes; output is never buffered whole. */
  onLine?: OutputListener;
  /** Between SIGTERM and SIGKILL when the command is stopped (default 5 s, SPEC section 4, step 8). */
  killGraceMs?: number;
  /** How the command is shown in its record, e.g. as the plan wrote it; default the shell-quoted argv. */
  display?: string;
  /** Secrets to take out of the stderr lines a failure's message carries (before they are cut). */
  redactor?: Redactor;
  /**
   * Marks the command and everything it starts (escaped.ts): when it is stopped (timeout,
   * interruption), what left its process group is found, stopped too, and listed in the record.
   */
  mark?: string;
  /** What starts the process: the place's launcher (the spawner helper during apply); default here. */
  launcher?: Launcher;
}

/** SIGTERM to SIGKILL when a command is stopped (SPEC section 4, steps 8 and 9). */
export const KILL_GRACE_MS = 5000;

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
  const mark = options.mark;
  if (mark === undefined) return runOnce(spec, options);
  const record = await runOnce({ ...spec, env: { ...spec.env, ...markEnv(mark) } }, options);
  // Stopped: its group is gone, and what escaped it must not keep running on its own.
  if (record.failure !== 'timeout' && record.failure !== 'interrupted') return record;
  const escaped = await stopEscaped(mark, options.killGraceMs ?? KILL_GRACE_MS);
  return escaped.length > 0 ? { ...record, escaped } : record;
}

async function runOnce(spec: CommandSpec, options: RunOptions): Promise<CommandRecord> {
  const startedAt = Date.now();
  const argv = spec.shell ? ['/bin/sh', '-c', spec.argv[0] ?? ''] : spec.argv;
  const base = { command: options.display ?? formatCommand(spec), argv: spec.argv, cwd: spec.cwd, startedAt };
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

  const unusable = argumentProblem(argv, spec) ?? (await checkDirectoryOnce(spec.cwd));
  if (unusable) return record({ failure: 'spawn-error', message: unusable });

  const onLine = options.onLine;
  // Why it failed, in its own words: its last lines of stderr (SPEC section 4, step 11).
  const tail = new StderrTail(options.redactor);
  // A command restore talks to may say its exit status before its process ends (an ssh
  // session held open by what the command left running): the command is over then.
  const conversation = spec.conversation;
  let reported: number | undefined;
  let onReported = () => {};
  const splitters = {
    stdout: new LineSplitter((line) => {
      if (!conversation) {
        onLine?.('stdout', line);
        return;
      }
      const read = conversation.read(line);
      if (read.output !== undefined) onLine?.('stdout', read.output);
      if (reported === undefined && read.exitCode !== undefined) {
        reported = read.exitCode;
        onReported();
      }
    }),
    stderr: new LineSplitter((line) => {
      tail.push(line);
      onLine?.('stderr', line);
    }),
  };
  const launched = await (options.launcher ?? directLauncher)
    .launch(
      {
        file: argv[0] ?? '',
        args: argv.slice(1),
        cwd: spec.cwd,
        env: commandEnv(spec.env),
        ...(conversation ? { input: conversation.input } : {}),
        ...(conversation?.endInputOn !== undefined ? { endInputOn: conversation.endInputOn } : {}),
      },
      (stream, chunk) => splitters[stream].push(chunk),
    )
    // spawn throws rather than emits for some errors (ENOTDIR, invalid arguments).
    .catch((error: NodeJS.ErrnoException) => ({
      ok: false as const,
      code: error.code,
      message: error.message,
    }));
  if (!launched.ok) {
    // A working directory that was fine when first used may have gone since: spawn says ENOENT
    // for that too, so the directory is looked at again before blaming the program.
    const message = (await checkDirectory(spec.cwd)) ?? spawnErrorMessage(argv[0] ?? '', launched);
    return record({ failure: 'spawn-error', message });
  }
  const { pid, finished } = launched.process;

  let stoppedFor: 'timeout' | 'interrupted' | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (why: 'timeout' | 'interrupted') => {
    // After it said its status the command is over: what is left closes within OUTPUT_DRAIN_MS.
    if (stoppedFor || reported !== undefined) return;
    stoppedFor = why;
    stopping = terminateGroup(pid, options.killGraceMs ?? KILL_GRACE_MS);
  };
  const timer = spec.timeoutMs !== null ? setTimeout(() => stop('timeout'), spec.timeoutMs) : undefined;
  // Something the command left in the background may hold its output open on the host, and ssh
  // then waits for it: as with a local command (OUTPUT_DRAIN_MS), its exit is what counts.
  let lingering: NodeJS.Timeout | undefined;
  onReported = () => {
    // The command has ended: its deadline no longer applies, only the session's teardown is left.
    if (timer) clearTimeout(timer);
    lingering = setTimeout(() => {
      if (!stoppedFor) stopping = terminateGroup(pid, options.killGraceMs ?? KILL_GRACE_MS);
    }, OUTPUT_DRAIN_MS);
  };
  if (reported !== undefined) onReported();
  const onAbort = () => stop('interrupted');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  try {
    const status = await finished;
    splitters.stdout.end();
    splitters.stderr.end();
    // The status the script reported is the command's, whatever became of ssh after it.
    const { exitCode, signal } = reported !== undefined ? { exitCode: reported, signal: null } : status;
    const stderr = tail.lines();
    const said = (message: string) => withStderr(message, stderr);
    if (stoppedFor === 'timeout') {
      const message = said(`timed out after ${formatDuration(spec.timeoutMs ?? 0)}`);
      return record({ pid, exitCode, signal, timedOut: true, failure: 'timeout', message, stderr });
    }
    if (stoppedFor === 'interrupted')
      return record({ pid, exitCode, signal, failure: 'interrupted', message: 'interrupted', stderr });
    if (signal) {
      const message = said(`killed by ${signal}`);
      return record({ pid, exitCode, signal, failure: 'killed', message, stderr });
    }
    if (exitCode !== 0) {
      return record({
        pid,
        exitCode,
        signal,
        failure: 'exit-non-zero',
        message: said(`exited with code ${exitCode}`),
        stderr,
      });
    }
    return record({ pid, exitCode, signal, failure: null, message: 'exited with code 0' });
  } finally {
    if (timer) clearTimeout(timer);
    clearTimeout(lingering);
    options.signal?.removeEventListener('abort', onAbort);
    // A stopped command's group is gone before its record is: nothing it started survives it.
    if (stopping) await stopping;
  }
}

/** One line for a command that could not be started (the working directory is known to be fine). */
export function spawnErrorMessage(
  program: string,
  error: { code: string | undefined; message: string },
): string {
  switch (error.code) {
    case 'ENOENT':
      return `command not found: ${program}`;
    case 'EACCES':
      return `permission denied: ${program}`;
    case 'ENOEXEC':
      return `not an executable: ${program}`;
    case PID_FILE_ERROR:
      return error.message;
    default:
      return `could not start ${program}: ${error.message}`;
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

/** Why a command cannot even be handed to spawn: a NUL byte, which no C string can carry. */
function argumentProblem(argv: string[], spec: CommandSpec): string | undefined {
  if (argv.length === 0 || argv[0] === '') return 'no command to run';
  if (argv.some((arg) => arg.includes('\0'))) return 'an argument contains a NUL byte';
  for (const [name, value] of Object.entries(spec.env)) {
    if (name.includes('\0') || value.includes('\0'))
      return `environment variable ${name} contains a NUL byte`;
  }
  if (spec.cwd.includes('\0')) return 'the working directory contains a NUL byte';
  return undefined;
}

/** Working directories already found usable: each is looked at once per process, not per command. */
const usableDirs = new Set<string>();

/** checkDirectory, remembering directories that were fine (one stat per directory, not per command). */
async function checkDirectoryOnce(dir: string): Promise<string | undefined> {
  if (usableDirs.has(dir)) return undefined;
  const problem = await checkDirectory(dir);
  if (!problem) usableDirs.add(dir);
  return problem;
}

/** Why `dir` cannot be a working directory, or undefined when it can. */
export async function checkDirectory(dir: string): Promise<string | undefined> {
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) return `working directory ${dir} is not a directory`;
    await access(dir, constants.X_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `working directory ${dir} does not exist`;
    if (code === 'ENOTDIR') return `working directory ${dir} is not a directory`;
    if (code === 'EACCES') return `working directory ${dir} cannot be entered: permission denied`;
    return `working directory ${dir} cannot be used (${code ?? 'error'})`;
  }
}
