import { spawn } from 'node:child_process';
import { closeSync, openSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { formatCommand } from '../../plan/command-text.js';
import { terminateGroup } from './process-group.js';
import { checkDirectory, commandEnv } from './run-command.js';
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
}

export type SpawnResult = { ok: true; daemon: Daemon } | { ok: false; record: CommandRecord };

/**
 * Spawns a daemon (SPEC section 4, step 5): detached in its own process group, output appended
 * to its log file (file descriptors, not pipes, so it keeps logging after restore exits), its
 * pid written to its pid file. Both files are mode 0600.
 */
export async function spawnDaemon(
  spec: CommandSpec,
  files: { logFile: string; pidFile: string },
): Promise<SpawnResult> {
  const startedAt = Date.now();
  const failed = (message: string): SpawnResult => ({
    ok: false,
    record: {
      command: formatCommand(spec),
      argv: spec.argv,
      cwd: spec.cwd,
      pid: null,
      startedAt,
      durationMs: Date.now() - startedAt,
      exitCode: null,
      signal: null,
      timedOut: false,
      failure: 'spawn-error',
      message,
    },
  });
  const badCwd = await checkDirectory(spec.cwd);
  if (badCwd) return failed(badCwd);

  const argv = spec.shell ? ['/bin/sh', '-c', spec.argv[0] ?? ''] : spec.argv;
  const fd = openSync(files.logFile, 'a', 0o600);
  const logOffset = statSync(files.logFile).size;
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(argv[0] ?? '', argv.slice(1), {
      cwd: spec.cwd,
      env: commandEnv(spec.env),
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }

  const spawned = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (error: NodeJS.ErrnoException) => resolve(error));
  });
  if (spawned || child.pid === undefined) {
    const program = argv[0] ?? '';
    const code = spawned?.code;
    return failed(
      code === 'ENOENT'
        ? `command not found: ${program}`
        : code === 'EACCES'
          ? `permission denied: ${program}`
          : `could not start: ${spawned?.message ?? 'unknown error'}`,
    );
  }

  const pid = child.pid;
  writeFileSync(files.pidFile, `${pid}\n`, { mode: 0o600 });
  let gone = false;
  const exited = new Promise<{ exitCode: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (exitCode, signal) => {
      gone = true;
      resolve({ exitCode, signal });
    });
  });
  // restore may exit while the daemon runs on.
  child.unref();
  return {
    ok: true,
    daemon: {
      pid,
      startedAt,
      logFile: files.logFile,
      logOffset,
      exited,
      hasExited: () => gone,
      stop: (graceMs = 10_000) => terminateGroup(pid, graceMs),
    },
  };
}

/** The last lines a daemon wrote to its log since `fromOffset`, reading at most `maxBytes`. */
export async function readLogTail(
  logFile: string,
  fromOffset: number,
  maxBytes = 64 * 1024,
): Promise<string[]> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(logFile, 'r');
    const size = (await handle.stat()).size;
    const start = Math.max(fromOffset, size - maxBytes);
    const length = Math.max(0, size - start);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, start);
    const lines = buffer.toString('utf8').split('\n');
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
