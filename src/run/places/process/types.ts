/**
 * Running commands: what goes in and the plain, fully described record that comes out of every
 * attempt (modelled on execa's result objects). Nobody parses a message to learn what happened.
 */

/** A command ready to run: argv resolved, cwd absolute, env merged over restore's own. */
export interface CommandSpec {
  /** The argv to execute; with `shell`, a single script for /bin/sh -c. */
  argv: string[];
  shell: boolean;
  /** Absolute working directory. */
  cwd: string;
  /** Added to restore's own environment. */
  env: Record<string, string>;
  /** Deadline of the command; null for none (the caller bounds it otherwise). */
  timeoutMs: number | null;
  /** What restore says to it on its standard input, when it talks to it (else /dev/null). */
  conversation?: Conversation;
}

/**
 * A command restore talks to over its standard input: the ssh place's scripts (places/ssh/).
 * What is said, and what its answers mean, is the caller's protocol; the executor only carries it.
 */
export interface Conversation {
  /** Written to its standard input, which stays open while it runs (see LaunchRequest.input). */
  input: string;
  /** Its standard input is closed when this appears in its output (see LaunchRequest.endInputOn). */
  endInputOn?: string;
  /**
   * Reads each line of its standard output before anyone else: `output` is what of the line is
   * the command's own (none when absent), `exitCode` the status of the command it stands for,
   * once it says so. The command is then over: what it left holding its output has
   * OUTPUT_DRAIN_MS to let go, and its deadline no longer applies.
   */
  read(line: string): { output?: string; exitCode?: number };
}

/** Why a command did not succeed. */
export type CommandFailure =
  /** Exited with a status other than 0. */
  | 'exit-non-zero'
  /** Killed by a signal it was not sent by restore. */
  | 'killed'
  /** Ran past its deadline; its process group was terminated. */
  | 'timeout'
  /** Could not be started: command not found, permission denied, bad working directory. */
  | 'spawn-error'
  /** Terminated because the run was interrupted (SIGINT/SIGTERM to restore). */
  | 'interrupted';

export interface CommandRecord {
  /** The command as a user would type it (shell-quoted argv). */
  command: string;
  argv: string[];
  cwd: string;
  pid: number | null;
  /** Epoch milliseconds. */
  startedAt: number;
  durationMs: number;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  failure: CommandFailure | null;
  /**
   * One line for people: "exited with code 1: FATAL: could not bind", "command not found: pg_ctl",
   * "timed out after 30s". A failure carries the last lines of stderr (see `stderr`).
   */
  message: string;
  /** The last non-empty lines the command wrote to stderr, redacted (at most 5 lines, 1 KiB). */
  stderr?: string[];
  /** Processes it started that had left its process group and outlived its stop (then stopped too). */
  escaped?: { pid: number; command: string }[];
}

export type Stream = 'stdout' | 'stderr';
export type OutputListener = (stream: Stream, line: string) => void;
