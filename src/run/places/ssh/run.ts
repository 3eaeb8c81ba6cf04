import type { ResolvedCommand, ResolvedHost } from '../../../plan/model.js';
import type { Launcher } from '../process/launch.js';
import { type RunOptions, runCommand } from '../process/run-command.js';
import type { CommandRecord, CommandSpec } from '../process/types.js';
import { REMOTE_CWD_FAILED, runScript } from './script.js';
import { remoteDisplay, type SshHosts } from './ssh.js';

/** Where a service's remote commands go: the plan's connections and the service's host. */
export interface RemoteTarget {
  ssh: SshHosts;
  host: ResolvedHost;
  /** Local working directory of the ssh client: the plan's directory. */
  localDir: string;
  /** What starts the local ssh client: the spawner helper during apply. */
  launcher: Launcher;
}

/** ssh's own exit status when it, not the remote command, failed. */
const SSH_FAILED = 255;

/** The ssh client process that runs `command` on the target's host (see script.ts). */
export function remoteSpec(
  command: ResolvedCommand,
  target: RemoteTarget,
  timeoutMs: number | null,
): CommandSpec {
  return target.ssh.spec(target.host, runScript(command), target.localDir, timeoutMs);
}

/** A command's deadline: its own timeout, or the caller's bound when that is shorter. */
export function commandBudget(command: ResolvedCommand, boundMs: number | null): number | null {
  const own = command.timeout_ms;
  return own === null ? boundMs : boundMs === null ? own : Math.min(own, boundMs);
}

/**
 * Runs `body` in its turn on the target's host (SshHosts.turn: it may wait for the host's shared
 * connection to open), with what is left of `budgetMs`.
 */
export async function inTurn<T>(
  target: RemoteTarget,
  budgetMs: number | null,
  signal: AbortSignal | undefined,
  body: (budgetMs: number | null) => Promise<T>,
): Promise<T> {
  const turn = await target.ssh.turn(target.host, budgetMs, signal);
  try {
    return await body(budgetMs === null ? null : Math.max(1, budgetMs - turn.waitedMs));
  } finally {
    turn.done();
  }
}

/**
 * Runs a command of the plan on a host, like runCommand does here: output streamed line by line,
 * its deadline cutting the connection (and with it, on the host, the command's process group).
 * The record describes the command as written, and its message says in one line what went
 * wrong, in ssh's own words when ssh failed (`ssh: connect to host ... Connection refused`).
 */
export async function runRemote(
  command: ResolvedCommand,
  target: RemoteTarget,
  boundMs: number | null,
  options: RunOptions = {},
): Promise<CommandRecord> {
  let lastError: string | undefined;
  const record = await inTurn(target, commandBudget(command, boundMs), options.signal, (budgetMs) =>
    runCommand(remoteSpec(command, target, budgetMs), {
      ...options,
      launcher: target.launcher,
      display: remoteDisplay(command, target.host),
      onLine: (stream, line) => {
        if (stream === 'stderr' && line.trim() !== '') lastError = line.trim();
        options.onLine?.(stream, line);
      },
    }),
  );
  return {
    ...record,
    argv: command.argv,
    cwd: command.cwd ?? '~',
    message: explainRemote(record, lastError, command, target.host),
  };
}

/** One line for a remote command's outcome. */
export function explainRemote(
  record: Pick<CommandRecord, 'failure' | 'exitCode' | 'message' | 'stderr'>,
  lastError: string | undefined,
  command: Pick<ResolvedCommand, 'argv' | 'shell' | 'cwd'>,
  host: ResolvedHost,
): string {
  if (record.failure === 'spawn-error' && record.message.startsWith('command not found')) {
    return `ssh is not installed on this machine; host ${host.name} is reached with it`;
  }
  if (record.failure !== 'exit-non-zero') return record.message;
  const program = command.shell ? '/bin/sh' : (command.argv[0] ?? '');
  switch (record.exitCode) {
    case SSH_FAILED:
      return lastError ?? `ssh to ${host.address} failed (exit 255)`;
    case 127:
      return `command not found on ${host.name}: ${program}`;
    case 126:
      return `cannot execute on ${host.name}: ${program}${lastError ? ` (${lastError})` : ''}`;
    case REMOTE_CWD_FAILED:
      if (command.cwd !== null && lastError?.includes('cd')) {
        return `working directory ${command.cwd} cannot be entered on ${host.name}`;
      }
      break;
    default:
      break;
  }
  // A record of runCommand carries the last lines of stderr in its message already.
  if (record.stderr !== undefined) return record.message;
  return `${record.message}${lastError ? `: ${lastError}` : ''}`;
}
