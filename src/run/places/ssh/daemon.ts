import type { ResolvedCommand } from '../../../plan/model.js';
import { type Daemon, type SpawnResult, spawnedRecord, spawnFailed } from '../process/daemon.js';
import { runCommand } from '../process/run-command.js';
import type { CommandRecord, Stream } from '../process/types.js';
import { explainRemote, inTurn, type RemoteTarget } from './run.js';
import {
  daemonPidScript,
  daemonScript,
  LOG_SIZE_MARKER,
  logReadScript,
  logTailScript,
  PID_MARKER,
  REMOTE_NOT_RUNNING,
  remoteServicesDir,
  stopDaemonScript,
} from './script.js';
import { remoteDisplay } from './ssh.js';

/** SIGTERM to SIGKILL for the local ssh client of a daemon's session when it is ended. */
const SESSION_GRACE_MS = 1000;

/** How long a stop or log read on a host may take beyond the daemon's own grace. */
const REMOTE_CALL_MS = 30_000;

/**
 * Starts a daemon on a host (script.ts, daemonScript): detached there, with its log and pid file
 * under `~/.restore/<plan>/services/` on the host. The ssh session stays open while restore
 * verifies it, so a daemon that exits before it is healthy fails the service at once; `release`
 * closes that session and leaves the daemon running. `timeoutMs` bounds the wait for the host
 * to report the daemon's pid (a hung connection).
 */
export function spawnRemoteDaemon(
  command: ResolvedCommand,
  target: RemoteTarget,
  /** `secrets`: values to redact from the daemon's log on the host. */
  names: { plan: string; service: string; secrets?: readonly string[] },
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<SpawnResult> {
  const startedAt = Date.now();
  return inTurn(target, timeoutMs, signal, (budgetMs) =>
    spawnInTurn(command, target, names, startedAt, budgetMs ?? timeoutMs, signal),
  );
}

async function spawnInTurn(
  command: ResolvedCommand,
  target: RemoteTarget,
  names: { plan: string; service: string; secrets?: readonly string[] },
  startedAt: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<SpawnResult> {
  const display = remoteDisplay(command, target.host);
  const what = { command: display, argv: command.argv, cwd: command.cwd ?? '~', startedAt };
  const failed = (message: string, fields: Partial<CommandRecord> = {}): SpawnResult =>
    spawnFailed(what, message, fields);
  const spec = target.ssh.spec(
    target.host,
    daemonScript(command, names.plan, names.service, names.secrets),
    target.localDir,
    null,
  );
  let lastError: string | undefined;
  let logOffset = 0;
  let reportPid: (pid: number) => void = () => {};
  const pidSeen = new Promise<number>((resolve) => {
    reportPid = resolve;
  });
  // The session lasts while restore verifies the daemon; ending it (release, a failed start)
  // leaves the daemon running on the host.
  const session = new AbortController();
  const ended = runCommand(spec, {
    signal: session.signal,
    launcher: target.launcher,
    killGraceMs: SESSION_GRACE_MS,
    onLine: (stream, line) => {
      if (stream === 'stdout' && line.startsWith(PID_MARKER))
        reportPid(Number(line.slice(PID_MARKER.length)));
      else if (stream === 'stdout' && line.startsWith(LOG_SIZE_MARKER))
        logOffset = Number(line.slice(LOG_SIZE_MARKER.length).trim()) || 0;
      else if (stream === 'stderr' && line.trim() !== '') lastError = line.trim();
    },
  });
  let gone = false;
  const exited = ended.then((record) => {
    gone = true;
    return { exitCode: record.exitCode, signal: record.signal };
  });
  let timer: NodeJS.Timeout | undefined;
  let onAbort = () => {};
  const first = await Promise.race([
    pidSeen.then((pid) => ({ kind: 'pid' as const, pid })),
    ended.then((record) => ({ kind: 'ended' as const, record })),
    new Promise<{ kind: 'timeout' }>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs);
    }),
    new Promise<{ kind: 'interrupted' }>((resolve) => {
      onAbort = () => resolve({ kind: 'interrupted' });
      if (signal?.aborted) onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
  ]);
  clearTimeout(timer);
  signal?.removeEventListener('abort', onAbort);
  if (first.kind !== 'pid') {
    session.abort();
    await ended;
    if (first.kind === 'timeout') {
      return failed(`no answer from ${target.host.address} within ${Math.round(timeoutMs / 1000)}s`, {
        failure: 'timeout',
        timedOut: true,
      });
    }
    if (first.kind === 'interrupted') return failed('interrupted', { failure: 'interrupted' });
    const { record } = first;
    if (record.failure !== 'exit-non-zero' && record.failure !== 'killed')
      return failed(explainRemote(record, lastError, command, target.host), { failure: record.failure });
    const { exitCode, signal: killedBy } = record;
    const message = explainRemote(
      { failure: 'exit-non-zero', exitCode, message: `exited with code ${exitCode}` },
      lastError,
      command,
      target.host,
    );
    return failed(message, { exitCode, signal: killedBy, failure: 'exit-non-zero' });
  }

  const pid = first.pid;
  const logFile = `~/${remoteServicesDir(names.plan)}/${names.service}.log on ${target.host.name}`;
  const daemon: Daemon = {
    pid,
    startedAt,
    logFile,
    logOffset,
    exited,
    hasExited: () => gone,
    release: () => {
      if (!gone) session.abort();
    },
    stop: async (graceMs = 10_000) => {
      daemon.release();
      await stopRemoteDaemon(target, names, graceMs);
    },
    lastOutput: async () => {
      const said: string[] = [];
      await callHost(target, logTailScript(names.plan, names.service, 5), REMOTE_CALL_MS, (stream, line) => {
        if (stream === 'stdout') said.push(line);
      });
      return said;
    },
    newOutput: remoteLogFollower(target, names, logOffset),
  };
  return { ok: true, daemon, record: spawnedRecord(what, pid) };
}

/** At most this much of a remote log is read per look. */
const FOLLOW_CHUNK_BYTES = 256 * 1024;

/**
 * Follows a daemon's log on its host from `offset` (its size before the daemon started), one ssh
 * turn per look: whole lines only, a line not yet ended is read again at the next look.
 */
function remoteLogFollower(
  target: RemoteTarget,
  names: { plan: string; service: string },
  offset: number,
): () => Promise<string[]> {
  let position = offset;
  return async () => {
    let size: number | undefined;
    const lines: string[] = [];
    const script = logReadScript(names.plan, names.service, position, FOLLOW_CHUNK_BYTES);
    const record = await callHost(target, script, REMOTE_CALL_MS, (stream, line) => {
      if (stream !== 'stdout') return;
      if (size === undefined) size = Number(line.trim());
      else lines.push(line);
    });
    if (record.failure !== null || size === undefined || !Number.isFinite(size)) return [];
    if (size < position) {
      // Truncated under us: from its beginning at the next look.
      position = 0;
      return [];
    }
    const available = Math.min(size - position, FOLLOW_CHUNK_BYTES);
    // The bytes of whole lines read; a last line without its newline waits for the next look.
    let used = 0;
    const whole: string[] = [];
    for (const line of lines) {
      const bytes = Buffer.byteLength(line) + 1;
      if (used + bytes > available) break;
      used += bytes;
      whole.push(line);
    }
    // One line longer than a look's worth: taken as it is, or it would block the log for good.
    if (whole.length === 0 && available >= FOLLOW_CHUNK_BYTES && lines.length > 0) {
      position += available;
      return [lines[0]!];
    }
    position += used;
    return whole;
  };
}

/**
 * The pid of a daemon's live process on its host, from the pid file there: null when none is
 * running, undefined when the host cannot say (unreachable).
 */
export async function remoteDaemonPid(
  target: RemoteTarget,
  names: { plan: string; service: string },
): Promise<number | null | undefined> {
  let pid: number | undefined;
  const record = await callHost(
    target,
    daemonPidScript(names.plan, names.service),
    REMOTE_CALL_MS,
    (stream, line) => {
      if (stream === 'stdout' && /^\d+$/.test(line.trim())) pid = Number(line.trim());
    },
  );
  if (record.failure === null) return pid;
  return record.exitCode === REMOTE_NOT_RUNNING ? null : undefined;
}

/** Stops a daemon on a host from its pid file there; `running: false` when none was running. */
export async function stopRemoteDaemon(
  target: RemoteTarget,
  names: { plan: string; service: string },
  graceMs: number,
): Promise<{ ok: boolean; running: boolean; message: string }> {
  let pid: string | undefined;
  let lastError: string | undefined;
  const script = stopDaemonScript(names.plan, names.service, graceMs);
  const record = await callHost(target, script, graceMs + REMOTE_CALL_MS, (stream, line) => {
    if (stream === 'stdout') pid = line.trim();
    else if (line.trim() !== '') lastError = line.trim();
  });
  if (record.failure === null) {
    return { ok: true, running: true, message: `stopped daemon pid ${pid ?? '?'} on ${target.host.name}` };
  }
  if (record.exitCode === REMOTE_NOT_RUNNING) {
    return {
      ok: true,
      running: false,
      message: `not running on ${target.host.name} (no live daemon from its pid file)`,
    };
  }
  const stop = { argv: ['kill'], shell: false, cwd: null };
  return { ok: false, running: true, message: explainRemote(record, lastError, stop, target.host) };
}

/** Runs a short script of restore's own on the target's host (its input not watched), in turn. */
export function callHost(
  target: RemoteTarget,
  script: string,
  budgetMs: number,
  onLine: (stream: Stream, line: string) => void,
  signal?: AbortSignal,
): Promise<CommandRecord> {
  return inTurn(target, budgetMs, signal, (left) =>
    runCommand(target.ssh.spec(target.host, script, target.localDir, left, false), {
      onLine,
      launcher: target.launcher,
      ...(signal ? { signal } : {}),
    }),
  );
}
