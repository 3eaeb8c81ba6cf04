import type { ResolvedCommand } from '../../plan/model.js';
import type { CheckResult } from '../probes/types.js';
import type { Redactor } from '../redact.js';
import type { SpawnResult } from './process/daemon.js';
import type { EscapedProcess } from './process/escaped.js';
import type { CommandRecord, OutputListener } from './process/types.js';

/**
 * A place where a service's commands run: this machine, or a host of the plan reached over ssh
 * (SPEC section 6). The engine asks a place to run, spawn, find, stop and look; it never asks
 * where it is. Each service gets its place once (Places.of), and everything it does goes there.
 */
export interface Place {
  /** For messages: `here`, or `host db1`. */
  readonly where: string;
  /**
   * Whether this place knows the processes it started by the mark in their environment
   * (places/process/escaped.ts): those that left their process group, and a one-shot still
   * running from a run restore did not live to see end. Only this machine does; on a host,
   * a command's process group is what is stopped.
   */
  readonly tracksMarks: boolean;
  /** Whether a daemon's pid is one of this machine's (reported as `service_pid`). */
  readonly pidsAreLocal: boolean;
  /**
   * The plan file's directory on this machine: network checks run from here wherever the service
   * runs, and read their files (a tls `ca`) relative to it.
   */
  readonly localDir: string;
  /** How often an adopted daemon is looked for here: a look on a host is an ssh command. */
  readonly watchEveryMs: number;

  /** A command as people read it, saying where it runs: `pg_ctl start (on db1)`. */
  display(command: Pick<ResolvedCommand, 'argv' | 'shell'>): string;

  /**
   * Runs a command of the plan to its end, within its own timeout and `boundMs` (the shorter
   * wins). Never throws for a failing command: the record says what happened.
   */
  run(command: ResolvedCommand, boundMs: number | null, options?: PlaceRunOptions): Promise<CommandRecord>;

  /** An `exec` health check: the command exits 0 within `timeoutMs`. */
  check(command: ResolvedCommand, timeoutMs: number, signal?: AbortSignal): Promise<CheckResult>;

  /**
   * Starts a service's daemon: detached, its output in its log, its pid in its pid file, both
   * where this place keeps them. `mark` marks what it starts (see tracksMarks). Interrupted
   * while starting, what may have started is stopped again before this returns.
   */
  spawnDaemon(service: string, command: ResolvedCommand, options: SpawnOptions): Promise<SpawnResult>;

  /** The live pid of a service's daemon, from its pid file: null when none runs, undefined when unknown. */
  daemonPid(service: string): Promise<number | null | undefined>;

  /** Whether the daemon `pid` of a service still runs (a place that cannot say answers yes). */
  daemonAlive(service: string, pid: number): Promise<boolean>;

  /**
   * Stops a service's daemon, found from its pid file: SIGTERM to its process group, SIGKILL after
   * `graceMs`. The pid file is forgotten once it is stopped.
   */
  stopDaemon(service: string, graceMs: number): Promise<DaemonStop>;

  /** A service was stopped by its stop command: its daemon's pid file no longer means anything. */
  forgetDaemon(service: string): void;

  /** The processes that carry `mark`, when this place tracks marks; else none. */
  findMarked(mark: string): EscapedProcess[];

  /** Stops the processes that carry `mark` (SIGTERM, SIGKILL after `graceMs`); those it found. */
  stopMarked(mark: string, graceMs: number): Promise<EscapedProcess[]>;

  /** The SHA-256 of a file here (a relative path is the plan directory's, or the login's on a host). */
  hashFile(path: string, signal?: AbortSignal): Promise<FileDigest>;

  /**
   * A text file here, up to `maxBytes` (a larger one is refused, not cut): a `verify:` manifest.
   * A relative path is read as hashFile reads it.
   */
  readFile(path: string, maxBytes: number, signal?: AbortSignal): Promise<FileText>;

  /**
   * Checks an OpenSSH signature here with `ssh-keygen -Y verify` (SPEC section 7), the file on
   * its standard input; relative paths as hashFile reads them. Never throws: the answer says why not.
   */
  verifySignature(request: SignatureRequest, signal?: AbortSignal): Promise<SignatureCheck>;

  /**
   * Whether `program` can be run here: a path that is executable, or a name found on PATH;
   * undefined when the place cannot say (a host that does not answer).
   */
  hasProgram(program: string, signal?: AbortSignal): Promise<boolean | undefined>;

  /**
   * Whether a command could enter `path` as its working directory here (a relative path is the
   * plan directory's, or, on a host, the login's, as `cd` there resolves it); undefined when the
   * place cannot say.
   */
  hasDirectory(path: string, signal?: AbortSignal): Promise<boolean | undefined>;

  /** This place's clock, in whole seconds since the epoch (`date +%s` on a host). */
  clock(signal?: AbortSignal): Promise<PlaceClock>;
}

export type PlaceClock = { ok: true; epochSeconds: number } | { ok: false; message: string };

export interface PlaceRunOptions {
  /** Aborting stops the command: failure `interrupted`. */
  signal?: AbortSignal;
  /** Every line of its output, as it comes. */
  onLine?: OutputListener;
  /** Secrets to take out of the stderr lines a failure's message carries. */
  redactor?: Redactor;
  /** Marks what the command starts, where the place tracks marks. */
  mark?: string;
}

export interface SpawnOptions {
  /** Marks the daemon's processes, where the place tracks marks. */
  mark: string;
  /** Epoch ms by which the place must have said whether it started (a hung connection). */
  deadline: number;
  signal: AbortSignal;
}

/** What stopping a daemon did: `running: false` when none was running. */
export interface DaemonStop {
  ok: boolean;
  running: boolean;
  message: string;
}

export type FileDigest = { ok: true; sha256: string } | { ok: false; message: string };

export type FileText = { ok: true; text: string } | { ok: false; message: string };

export interface SignatureRequest {
  file: string;
  signature: string;
  allowedSigners: string;
  identity: string;
  namespace: string;
}

/** `ok`: ssh-keygen's own words (`Good "file" signature for ...`); else why not, in words. */
export type SignatureCheck = { ok: boolean; message: string };
