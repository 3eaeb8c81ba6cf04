import { closeSync, createWriteStream } from 'node:fs';
import { execa, type StdoutStderrOption } from 'execa';
import { Redactor, StreamRedactor } from '../../redact.js';
import { writePidFile } from '../../state/pid-file.js';
import { openStateFile } from '../../state/state-files.js';
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
  /** Written to its standard input, then closed. Undefined: standard input is /dev/null. */
  input?: string;
  /**
   * Standard input stays open after `input` until this text appears in its standard output.
   * Remote commands take the end of their input as the sign that restore stopped them, and an
   * ssh client forwards its input until it ends, so it would not exit before (places/ssh/script.ts).
   */
  endInputOn?: string;
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

export interface DaemonFiles {
  logFile: string;
  pidFile: string;
  /** Secret values to keep out of the log file. */
  redact: readonly string[];
}

/** A daemon as launched: running detached, writing to its log file. */
export type DaemonLaunch =
  | { ok: true; pid: number; exited: Promise<ExitStatus> }
  | { ok: false; code: string | undefined; message: string };

export interface Launcher {
  launch(request: LaunchRequest, onChunk: OnChunk): Promise<LaunchResult>;
  /**
   * Starts a daemon whose output is appended to its log file (created 0600) and whose pid is
   * written to its pid file (0600) the moment it exists. With `redact`, its output goes through a
   * relay that replaces those values on the way (see relayOutput).
   */
  launchDaemon(request: LaunchRequest, files: DaemonFiles): Promise<DaemonLaunch>;
}

/** How long output is still read after a process exits, from what it left running. */
export const OUTPUT_DRAIN_MS = 1000;

/** Where a launched process's standard streams go: a pipe restore reads, or a file descriptor. */
interface Stdio {
  stdin: 'ignore' | 'pipe';
  stdout: 'pipe' | number;
  stderr: 'pipe' | number;
}
type Started = ReturnType<typeof start>;

/**
 * Starts a process through execa, configured as restore's process layer needs it:
 *  - `detached`: it leads its own process group, which is what restore stops (process-group.ts);
 *    execa's own kill reaches only the leader, so restore never calls it.
 *  - `buffer: false`: output is read as it comes, chunk by chunk, and paused when whoever reads
 *    it falls behind; execa keeps none of it.
 *  - `reject: false`: a command that fails is a record, not an exception (and nothing is left
 *    unhandled when no one awaits the promise, as for a daemon).
 *  - `cleanup: false`: execa ignores it for detached processes anyway, and would otherwise hook
 *    restore's own exit and signals through signal-exit. Daemons must outlive restore: they are
 *    the services it restored. A one-shot command that outlives a kill -9 of restore is settled
 *    by the resumed run (settleInFlight), and SIGINT/SIGTERM of restore already interrupt
 *    commands and stop their groups.
 *  - `forceKillAfterDelay: false`: it applies to execa's own kill, which restore does not use;
 *    restore's grace period and SIGKILL go to the whole group (terminateGroup).
 *  - `extendEnv: false`: the environment is restore's own (undefined) or already complete
 *    (commandEnv); merging process.env into it again would copy it for every command.
 * What execa adds over a bare spawn: errors with `code` and the system's message kept apart
 * (`originalMessage`), and a result promise that settles once the process and its streams are.
 */
function start(request: LaunchRequest, stdio: Stdio) {
  return execa(request.file, request.args, {
    cwd: request.cwd,
    env: request.env,
    extendEnv: false,
    detached: true,
    stdin: stdio.stdin,
    // execa hands a descriptor number to spawn as it is (lib/stdio/native.js); its types list
    // only the small ones.
    stdout: stdio.stdout as StdoutStderrOption,
    stderr: stdio.stderr as StdoutStderrOption,
    buffer: false,
    reject: false,
    cleanup: false,
    forceKillAfterDelay: false,
  });
}

type Failed = { ok: false; code: string | undefined; message: string };

/**
 * Resolves once the process is running (undefined), or with why it could not start. execa
 * reports both a spawn that threw (no process object ever emits anything) and one that emitted
 * `error` through its result: failed, with the system's code (ENOENT, EACCES, ENOEXEC...).
 */
function spawned(child: Started): Promise<Failed | undefined> {
  return new Promise((resolve) => {
    child.once('spawn', () => resolve(undefined));
    void child.then((result) => {
      if (child.pid !== undefined && !result.failed) return;
      resolve({
        ok: false,
        code: result.code,
        message: result.originalMessage ?? result.shortMessage ?? 'could not start',
      });
    });
  });
}

/** Calls `execa` and waits for the process to start; an exception from execa itself is a failure too. */
async function startAndWait(
  request: LaunchRequest,
  stdio: Stdio,
): Promise<{ child: Started; failed?: undefined } | { child?: undefined; failed: Failed }> {
  let child: Started;
  try {
    child = start(request, stdio);
  } catch (error) {
    // execa validates its options before spawning, and throws for what it refuses.
    const e = error as NodeJS.ErrnoException;
    return { failed: { ok: false, code: e.code, message: e.message } };
  }
  const failed = await spawned(child);
  return failed || child.pid === undefined
    ? { failed: failed ?? { ok: false, code: undefined, message: 'could not start' } }
    : { child };
}

/** Launches with execa in this process. */
export const directLauncher: Launcher = {
  launchDaemon: (request, files) => launchDaemonDirectly(request, files),
  async launch(request, onChunk) {
    const started = await startAndWait(request, {
      stdin: request.input === undefined ? 'ignore' : 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
    });
    if (!started.child) return started.failed;
    const { child } = started;
    const pid = child.pid!;
    if (child.stdin) {
      child.stdin.on('error', () => {}); // it may exit without reading: EPIPE is no news
      child.stdin.write(request.input ?? '');
      if (request.endInputOn === undefined) child.stdin.end();
      child.once('exit', () => child.stdin?.destroy());
    }
    const watch =
      request.endInputOn !== undefined && child.stdin
        ? endInputWatch(request.endInputOn, child.stdin)
        : undefined;
    // Output ending is as good a sign as the marker that the remote side is done (the script may
    // not live to print it); whichever comes first closes the input.
    if (watch) child.stdout?.once('end', () => child.stdin?.end());
    for (const name of ['stdout', 'stderr'] as const) {
      child[name]?.on('data', (chunk: Buffer) => {
        if (name === 'stdout') watch?.(chunk);
        onChunk(name, chunk);
      });
    }
    const exited = new Promise<ExitStatus>((resolve) => {
      child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
    });
    const finished = exited.then(async (status) => {
      // A command that started something in the background (`pg_ctl start` without -l,
      // `cmd &`) leaves the pipes open after it exits. Its exit is what counts.
      const drain = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, OUTPUT_DRAIN_MS);
      // execa's result settles once the process and its streams are done (a destroyed stream
      // included); with `reject: false` it never rejects.
      await child;
      clearTimeout(drain);
      return status;
    });
    return {
      ok: true,
      process: {
        pid,
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

/** Watches output for `marker` (which may be split across chunks), then ends `input`. */
function endInputWatch(marker: string, input: NodeJS.WritableStream): (chunk: Buffer) => void {
  let tail = '';
  let done = false;
  return (chunk) => {
    if (done) return;
    const text = tail + chunk.toString('latin1');
    if (text.includes(marker)) {
      done = true;
      input.end();
      return;
    }
    tail = text.slice(-marker.length);
  };
}

/** The launch error code of a daemon whose pid file could not be written (it was stopped again). */
export const PID_FILE_ERROR = 'EPIDFILE';

/** Starts a daemon from this process (see Launcher.launchDaemon). */
async function launchDaemonDirectly(request: LaunchRequest, files: DaemonFiles): Promise<DaemonLaunch> {
  const { logFile, pidFile, redact } = files;
  const relay = redact.length > 0;
  let logFd: number;
  try {
    // Never through a link: a log planted as a link to another file would have it appended to.
    logFd = openStateFile(logFile, 'append');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return { ok: false, code: e.code, message: e.message };
  }
  let child: Started;
  try {
    // Detached, with file descriptors rather than pipes: it keeps running, and logging, after
    // whoever started it has gone. Only output that must be redacted goes through pipes.
    child = start(request, {
      stdin: 'ignore',
      stdout: relay ? 'pipe' : logFd,
      stderr: relay ? 'pipe' : logFd,
    });
  } catch (error) {
    closeSync(logFd);
    const e = error as NodeJS.ErrnoException;
    return { ok: false, code: e.code, message: e.message };
  }
  // The relay writes to the same descriptor: the file is opened once, as checked.
  if (!relay) closeSync(logFd);
  const dropLog = () => {
    if (relay) closeSync(logFd);
  };
  // The pid is on disk before anything else happens: were restore killed right now, a resumed
  // run finds (and adopts) this daemon instead of starting a second one next to it.
  if (child.pid !== undefined) {
    try {
      writePidFile(pidFile, child.pid);
    } catch (error) {
      // A daemon that nothing could find again to stop must not be left running.
      process.kill(-child.pid, 'SIGKILL');
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      dropLog();
      return { ok: false, code: PID_FILE_ERROR, message: `cannot write pid file ${pidFile}: ${code}` };
    }
  }
  const failed = await spawned(child);
  if (failed || child.pid === undefined) {
    dropLog();
    return failed ?? { ok: false, code: undefined, message: 'could not start' };
  }
  if (relay) relayOutput(child, logFd, redact);
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
  });
  child.unref();
  return { ok: true, pid: child.pid, exited };
}

let relays = 0;
const relaysDone: (() => void)[] = [];

/**
 * Copies a daemon's output to its log file, secrets replaced on the way (SPEC section 5). The
 * relay lives in the spawner helper, which stays up after restore exits for as long as a daemon
 * it relays for keeps its output open.
 */
function relayOutput(child: Started, logFd: number, redact: readonly string[]): void {
  const file = createWriteStream('', { fd: logFd });
  // A full disk must not bring the helper down, and with it the relays of every other daemon:
  // output that cannot be written is lost, and the daemon goes on.
  file.on('error', () => {});
  const redactor = new Redactor(redact);
  relays += 1;
  let open = 2;
  for (const stream of [child.stdout!, child.stderr!]) {
    const out = new StreamRedactor(redactor, (text) => file.write(text));
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => out.push(text));
    stream.once('close', () => {
      out.end();
      open -= 1;
      if (open > 0) return;
      file.end(() => {
        relays -= 1;
        if (relays === 0) for (const done of relaysDone.splice(0)) done();
      });
    });
  }
}

/** Resolves once no daemon output is being relayed. */
export function relaysFinished(): Promise<void> {
  return relays === 0 ? Promise.resolve() : new Promise((resolve) => relaysDone.push(resolve));
}
