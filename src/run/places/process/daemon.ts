import { closeSync, constants, fstatSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { formatCommand } from '../../../plan/command-text.js';
import { openStateFile } from '../../state/state-files.js';
import { directLauncher, type Launcher } from './launch.js';
import { terminateGroup } from './process-group.js';
import { checkDirectory, commandEnv, spawnErrorMessage } from './run-command.js';
import type { CommandRecord, CommandSpec } from './types.js';

/** A service process that keeps running; restore waits for its health, not its exit. */
export interface Daemon {
  pid: number;
  /** Epoch milliseconds. */
  startedAt: number;
  logFile: string;
  /** Size of the log file before this daemon was spawned: where its own output starts. */
  logOffset: number;
  /** Resolves if it exits while restore runs. */
  exited: Promise<{ exitCode: number | null; signal: string | null }>;
  hasExited(): boolean;
  /** Terminates its process group (SIGTERM, then SIGKILL after the grace). */
  stop(graceMs?: number): Promise<void>;
  /** restore has done watching it (it is healthy): let go of whatever watched it. */
  release(): void;
  /** The last lines it wrote to its log since it was spawned. */
  lastOutput(): Promise<string[]>;
  /**
   * The whole lines it wrote to its log since the last call (the first: since it was spawned),
   * for `log` checks; at most a bounded amount per call, the rest at the next.
   */
  newOutput?(): Promise<string[]>;
}

/** A daemon started (with the record of its start: `spawned as pid N`), or why it did not start. */
export type SpawnResult =
  | { ok: true; daemon: Daemon; record: CommandRecord }
  | { ok: false; record: CommandRecord };

/** The record of a daemon's start: the command ran, and what it left running is the daemon. */
export function spawnedRecord(
  what: Pick<CommandRecord, 'command' | 'argv' | 'cwd' | 'startedAt'>,
  pid: number,
): CommandRecord {
  return {
    ...what,
    pid,
    durationMs: 0,
    exitCode: null,
    signal: null,
    timedOut: false,
    failure: null,
    message: `spawned as pid ${pid}`,
  };
}

/**
 * A daemon that did not start, or was not confirmed started: a spawn-error record unless `fields`
 * say otherwise (a timeout, an interruption, an early exit).
 */
export function spawnFailed(
  what: Pick<CommandRecord, 'command' | 'argv' | 'cwd' | 'startedAt'>,
  message: string,
  fields: Partial<CommandRecord> = {},
): SpawnResult {
  return {
    ok: false,
    record: {
      ...what,
      pid: null,
      durationMs: Date.now() - what.startedAt,
      exitCode: null,
      signal: null,
      timedOut: false,
      failure: 'spawn-error',
      message,
      ...fields,
    },
  };
}

/**
 * Spawns a daemon (SPEC section 4, step 5): detached in its own process group, output appended
 * to its log file (file descriptors, not pipes, so it keeps logging after restore exits), its
 * pid written to its pid file. Both files are mode 0600.
 */
export async function spawnDaemon(
  spec: CommandSpec,
  files: {
    logFile: string;
    pidFile: string;
    /** Secret values to keep out of the log file. */
    redact?: readonly string[];
  },
  launcher: Launcher = directLauncher,
): Promise<SpawnResult> {
  const startedAt = Date.now();
  const failed = (message: string): SpawnResult =>
    spawnFailed({ command: formatCommand(spec), argv: spec.argv, cwd: spec.cwd, startedAt }, message);
  const badCwd = await checkDirectory(spec.cwd);
  if (badCwd) return failed(badCwd);

  const argv = spec.shell ? ['/bin/sh', '-c', spec.argv[0] ?? ''] : spec.argv;
  let logOffset: number;
  try {
    const fd = openStateFile(files.logFile, 'append');
    try {
      logOffset = fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    return failed(`cannot open log file ${files.logFile}: ${errorCode(error)}`);
  }
  const launched = await launcher.launchDaemon(
    { file: argv[0] ?? '', args: argv.slice(1), cwd: spec.cwd, env: commandEnv(spec.env) },
    { logFile: files.logFile, pidFile: files.pidFile, redact: files.redact ?? [] },
  );
  if (!launched.ok) {
    // The working directory was fine a moment ago; it is looked at again in case that failed.
    return failed((await checkDirectory(spec.cwd)) ?? spawnErrorMessage(argv[0] ?? '', launched));
  }

  const pid = launched.pid;
  let gone = false;
  const exited = launched.exited.then((status) => {
    gone = true;
    return status;
  });
  return {
    ok: true,
    record: spawnedRecord({ command: formatCommand(spec), argv: spec.argv, cwd: spec.cwd, startedAt }, pid),
    daemon: {
      pid,
      startedAt,
      logFile: files.logFile,
      logOffset,
      exited,
      hasExited: () => gone,
      stop: (graceMs = 10_000) => terminateGroup(pid, graceMs),
      release: () => {},
      lastOutput: () => readLogTail(files.logFile, logOffset, 4096),
      newOutput: logFollower(files.logFile, logOffset),
    },
  };
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}

/** The last lines a daemon wrote to its log since `fromOffset`, reading at most `maxBytes`. */
export async function readLogTail(
  logFile: string,
  fromOffset: number,
  maxBytes = 64 * 1024,
): Promise<string[]> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(logFile, constants.O_RDONLY | constants.O_NOFOLLOW);
    const size = (await handle.stat()).size;
    const start = Math.max(fromOffset, size - maxBytes);
    const length = Math.max(0, size - start);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, start);
    const lines = buffer.toString('utf8').split(/\r?\n/);
    if (lines.at(-1) === '') lines.pop();
    // The first line may be cut when the tail starts mid-line.
    if (start > fromOffset && lines.length > 1) lines.shift();
    return lines;
  } catch {
    return [];
  } finally {
    await handle?.close();
  }
}

/** At most this much of a log is read per look; a partial last line is held up to this size too. */
const FOLLOW_CHUNK_BYTES = 256 * 1024;

/**
 * Reads a log file forward from `offset`, a bounded chunk per call, and returns its whole lines;
 * a line not yet ended waits for the next call (cut at FOLLOW_CHUNK_BYTES, so it cannot grow
 * without end). A log that cannot be read yields no lines: the check then says none matched.
 */
export function logFollower(logFile: string, offset: number): () => Promise<string[]> {
  let position = offset;
  let partial = '';
  return async () => {
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    try {
      handle = await open(logFile, constants.O_RDONLY | constants.O_NOFOLLOW);
      const size = (await handle.stat()).size;
      // A log truncated under us (rotated by hand): start again from its beginning.
      if (size < position) position = 0;
      const length = Math.min(size - position, FOLLOW_CHUNK_BYTES);
      if (length <= 0) return [];
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      position += bytesRead;
      const lines = (partial + buffer.subarray(0, bytesRead).toString('utf8')).split(/\r?\n/);
      partial = lines.pop() ?? '';
      if (partial.length > FOLLOW_CHUNK_BYTES) {
        lines.push(partial);
        partial = '';
      }
      return lines;
    } catch {
      return [];
    } finally {
      await handle?.close();
    }
  };
}
