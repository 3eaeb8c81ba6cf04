import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Stream } from './types.js';

/**
 * Starting a process, the one thing that differs between running commands from restore itself
 * and from its spawner helper (spawner.ts). A launched process leads its own process group.
 */
export interface LaunchRequest {
  file: string;
  args: string[];
  cwd: string;
  /** Undefined: restore's own environment. */
  env: NodeJS.ProcessEnv | undefined;
}

export interface Launched {
  pid: number;
  /** Resolves once it has exited and its output has been read (or given up on, see below). */
  finished: Promise<{ exitCode: number | null; signal: string | null }>;
  /** Stops reading its output for a while (backpressure); the process blocks on a full pipe. */
  pause(): void;
  resume(): void;
}

export type LaunchResult =
  | { ok: true; process: Launched }
  | { ok: false; code: string | undefined; message: string };

export type OnChunk = (stream: Stream, chunk: Buffer) => void;

export type ExitStatus = { exitCode: number | null; signal: string | null };

/** A daemon as launched: running detached, writing to its log file. */
export type DaemonLaunch =
  | { ok: true; pid: number; exited: Promise<ExitStatus> }
  | { ok: false; code: string | undefined; message: string };

export interface Launcher {
  launch(request: LaunchRequest, onChunk: OnChunk): Promise<LaunchResult>;
  /** Starts a daemon whose output is appended to `logFile` (created 0600). */
  launchDaemon(request: LaunchRequest, logFile: string): Promise<DaemonLaunch>;
}

/** How long output is still read after a process exits, from what it left running. */
export const OUTPUT_DRAIN_MS = 1000;

/** Launches with `child_process.spawn` in this process. */
export const directLauncher: Launcher = {
  launchDaemon: (request, logFile) => launchDaemonDirectly(request, logFile),
  async launch(request, onChunk) {
    const child = spawn(request.file, request.args, {
      cwd: request.cwd,
      env: request.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    });
    if (error || child.pid === undefined) {
      return { ok: false, code: error?.code, message: error?.message ?? 'could not start' };
    }
    const streams = (['stdout', 'stderr'] as const).map((name) => {
      const stream = child[name]!;
      stream.on('data', (chunk: Buffer) => onChunk(name, chunk));
      return new Promise<void>((resolve) => stream.once('close', () => resolve()));
    });
    const exited = new Promise<{ exitCode: number | null; signal: string | null }>((resolve) => {
      child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
    });
    const finished = exited.then(async (status) => {
      // A command that started something in the background (`pg_ctl start` without -l,
      // `cmd &`) leaves the pipes open after it exits. Its exit is what counts.
      const drain = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, OUTPUT_DRAIN_MS);
      await Promise.all(streams);
      clearTimeout(drain);
      return status;
    });
    return {
      ok: true,
      process: {
        pid: child.pid,
        finished,
        pause: () => {
          child.stdout?.pause();
          child.stderr?.pause();
        },
        resume: () => {
          child.stdout?.resume();
          child.stderr?.resume();
        },
      },
    };
  },
};

/** Starts a daemon from this process (see Launcher.launchDaemon). */
async function launchDaemonDirectly(request: LaunchRequest, logFile: string): Promise<DaemonLaunch> {
  const fd = openSync(logFile, 'a', 0o600);
  let child: ReturnType<typeof spawn>;
  try {
    // Detached, with file descriptors rather than pipes: it keeps running, and logging, after
    // whoever started it has gone.
    child = spawn(request.file, request.args, {
      cwd: request.cwd,
      env: request.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (e: NodeJS.ErrnoException) => resolve(e));
  });
  if (error || child.pid === undefined)
    return { ok: false, code: error?.code, message: error?.message ?? 'could not start' };
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
  });
  child.unref();
  return { ok: true, pid: child.pid, exited };
}

let current: Launcher = directLauncher;

/** The launcher commands use: direct, unless `apply` installed its spawner helper. */
export function launcher(): Launcher {
  return current;
}

export function useLauncher(next: Launcher): void {
  current = next;
}
