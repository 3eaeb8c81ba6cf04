import type { VerifiedFile } from './engine/integrity.js';
import type { CommandRecord, Stream } from './places/process/types.js';
import type { CheckResult } from './probes/types.js';
import { RunTimes, type RunTimesSeed } from './times.js';

/**
 * The vocabulary of a run. The engine only emits these; the journal, the run log, the terminal
 * views, JSON lines and the summary are subscribers. Event names are the journal's `event` values
 * of SPEC section 5 (plus `service.attempt`, `service.skipped` and `service.output`).
 */

/** Final state of a service in a run (SPEC section 4, step 10). */
export type ServiceResult = 'healthy' | 'already-healthy' | 'failed' | 'blocked' | 'skipped' | 'rolled-back';

/** How a run ended. */
export type RunResult = 'succeeded' | 'failed' | 'interrupted' | 'awaiting-approval';

/** Why a service failed. */
export type FailureReason =
  /** The start command exited non-zero, timed out, or could not be started, on every attempt. */
  | 'start-failed'
  /** A daemon exited before it became healthy, on every attempt. */
  | 'daemon-exited'
  /** `retries` failing probe rounds in a row. */
  | 'unhealthy'
  /** The service's `timeout` deadline passed. */
  | 'deadline'
  /** The run was interrupted while the service was in flight. */
  | 'interrupted'
  /** An artifact under `verify:` is missing, does not match its digest, or is not well signed (SPEC section 7). */
  | 'integrity';

/** Why a service was skipped. */
export type SkipReason = 'not-selected' | 'halted' | 'interrupted';

export interface ServiceSummary {
  stage: string;
  result: ServiceResult;
  attempts: number;
  duration_ms: number;
  /** Why it failed, in words (SPEC section 4, step 11); with `failed` only. */
  reason?: string;
}

interface ServiceEventBase {
  service: string;
  stage: string;
}

export interface RunStarted {
  type: 'run.started';
  run: string;
  plan: string;
  file: string;
  digest: string;
  argv: string[];
  concurrency: number;
  stages: { name: string; approval: boolean; services: string[] }[];
  /** Services of the plan left out by --only. */
  not_selected: string[];
  /** `restore drill` (SPEC section 10) or `restore apply`; absent in journals of restore before drills. */
  mode?: RunMode;
  /** A drill's `--hosts`: each plan host's stand-in, where every command of that host went. */
  hosts?: Record<string, StandInHost>;
}

/** What a run is: a restoration, or a rehearsal that tears down what it started. */
export type RunMode = 'apply' | 'drill';

/** A drill's stand-in for a plan host, as `run.started` records it (no secrets: only where to connect). */
export interface StandInHost {
  address: string;
  user: string | null;
  port: number;
  identity_file: string | null;
  ssh_options: Record<string, string>;
}

/** `apply --resume`: the same run continues, in the same journal. */
export interface RunResumed {
  type: 'run.resumed';
  run: string;
  plan: string;
  digest: string;
  argv: string[];
  concurrency: number;
  stages: { name: string; approval: boolean; services: string[] }[];
}

export interface StageStarted {
  type: 'stage.started';
  stage: string;
  index: number;
  count: number;
  services: string[];
}

export interface StageApproved {
  type: 'stage.approved';
  stage: string;
  approver: string;
  /** How the approval was given; `approve`: by `restore approve`, from the run's inbox. */
  via: 'yes' | 'approve-flag' | 'prompt' | 'journal' | 'approve';
  /** `restore approve --comment` (SPEC section 9); null when none was given. */
  comment?: string | null;
  /** When the approval was given, as the signed record says (ISO 8601). */
  approved_at?: string;
  /** `restore approve --sign-with`: the OpenSSH signature (armored) over the canonical record. */
  signature?: string;
}

/**
 * A gate waits for approvals (`apply --wait-approval`, or after the prompt on a terminal): said
 * once, so that whoever watches knows who must act and how. Then `stage.approved` per approval,
 * and the stage starts, or the wait ends with `run.awaiting-approval`.
 */
export interface WaitingApproval {
  type: 'stage.waiting-approval';
  stage: string;
  /** Distinct approvals counted so far, and how many the stage needs. */
  approvals: number;
  approvers: number;
  /** The names that may approve; null: anyone. */
  from: string[] | null;
  signed: boolean;
  timeout_ms: number;
}

export interface AwaitingApproval {
  type: 'run.awaiting-approval';
  stage: string;
  services: number;
}

export interface ServiceStarting extends ServiceEventBase {
  type: 'service.starting';
  attempt: number;
  max_attempts: number;
  command: string | null;
  daemon: boolean;
  /**
   * The mark in the environment of this attempt's processes (places/process/escaped.ts), on disk before
   * the command starts: a resumed run finds what is still running of it, whatever its pid.
   */
  mark?: string;
}

/** The outcome of one attempt of the start command. */
export interface ServiceAttempt extends ServiceEventBase {
  type: 'service.attempt';
  attempt: number;
  ok: boolean;
  /** The attempt's record, its pid named `service_pid` as on `service.healthy`. */
  record: AttemptRecord;
}

export type AttemptRecord = Omit<CommandRecord, 'pid'> & { service_pid: number | null };

/** The record of an attempt as events carry it. */
export function attemptRecord(record: CommandRecord): AttemptRecord {
  const { pid, ...rest } = record;
  return { ...rest, service_pid: pid };
}

export interface ServiceProbe extends ServiceEventBase {
  type: 'service.probe';
  /** `skip-check`: the round before starting (skip_if_healthy); `verify`: after starting. */
  phase: 'skip-check' | 'verify';
  round: number;
  ok: boolean;
  /** False for a failed round inside start_period, which does not count. */
  counted: boolean;
  checks: CheckResult[];
  /** How long the round took: the event's time is its end (a service's span opens at its start). */
  duration_ms: number;
}

export interface ServiceHealthy extends ServiceEventBase {
  type: 'service.healthy';
  attempts: number;
  rounds: number;
  duration_ms: number;
  /** The daemon's pid (not `pid`: log readers take that for the logging process's own). */
  service_pid: number | null;
  /** True when a resumed run found it still healthy with one probe round (it was not restarted). */
  resumed?: boolean;
}

/**
 * The artifacts under `verify:` were checked where the service runs and all passed (SPEC
 * section 7), before a start attempt (`before: 'start'`) or for a service found healthy
 * (`before: 'skip'`, or `'resume'` when a resumed run found it still healthy).
 */
export interface ServiceVerified extends ServiceEventBase {
  type: 'service.verified';
  before: 'start' | 'skip' | 'resume';
  /** Every file hashed, with its digest: a `file`, a `manifest` and the files it lists, a `signed` file. */
  files: VerifiedFile[];
  /** What each item found, one line each (for a signature, ssh-keygen's words). */
  checked: string[];
}

export interface ServiceAlreadyHealthy extends ServiceEventBase {
  type: 'service.already-healthy';
}

export interface ServiceFailed extends ServiceEventBase {
  type: 'service.failed';
  reason: FailureReason;
  message: string;
  attempts: number;
  duration_ms: number;
}

export interface ServiceBlocked extends ServiceEventBase {
  type: 'service.blocked';
  /** The failed service it depends on, directly or not. */
  by: string;
}

/**
 * Something the run went on despite, said about a service (SPEC section 11): it starts although
 * an optional dependency (`required: false`) failed or was blocked; a dependency it waited for
 * only until `started` failed after it had gone; its failure was within its stage's
 * `max_failures`, so the run goes on.
 */
export interface ServiceWarning extends ServiceEventBase {
  type: 'service.warning';
  cause:
    | 'optional-dependency-failed'
    | 'optional-dependency-blocked'
    | 'started-dependency-failed'
    | 'failure-tolerated';
  /** The dependency the warning is about; null for `failure-tolerated`. */
  dependency: string | null;
  message: string;
}

export interface ServiceSkipped extends ServiceEventBase {
  type: 'service.skipped';
  why: SkipReason;
}

/** `--on-failure rollback`: a service this run started was stopped again. */
export interface ServiceRolledBack extends ServiceEventBase {
  type: 'service.rolled-back';
  ok: boolean;
  /** How: "stop command exited with code 0", "stopped daemon pid 123". */
  message: string;
  /** A one-shot with no stop command: nothing of it runs, so nothing was done (and it is not rolled back). */
  left_alone?: boolean;
}

/**
 * Processes a service's command started that had left its process group (setsid) and were still
 * running after the group was stopped; restore stopped them too (SIGTERM, then SIGKILL).
 */
export interface ServiceEscaped extends ServiceEventBase {
  type: 'service.escaped';
  processes: { pid: number; command: string }[];
  stopped: boolean;
}

/**
 * `apply --resume`: a one-shot start command of the interrupted run is still running. It is
 * waited for until it ends or its deadline passes (`waiting`), then stopped if it has not ended
 * (`stopped`) or seen gone (`ended`); only then is it started again. Never two copies at once.
 */
export interface ServiceInFlight extends ServiceEventBase {
  type: 'service.in-flight';
  phase: 'waiting' | 'ended' | 'stopped';
  processes: { pid: number; command: string }[];
  /** `waiting`: how long it is waited for at most; otherwise how long it was waited for. */
  wait_ms: number;
}

export interface ServiceOutput extends ServiceEventBase {
  type: 'service.output';
  stream: Stream;
  line: string;
}

export interface StageFinished {
  type: 'stage.finished';
  stage: string;
  result: 'succeeded' | 'failed' | 'halted' | 'interrupted';
}

export interface RunInterrupted {
  type: 'run.interrupted';
  signal: 'SIGINT' | 'SIGTERM';
}

export interface RunFinished {
  type: 'run.finished';
  result: RunResult;
  duration_ms: number;
  services: Record<string, ServiceSummary>;
  /** The stage waiting for approval, with `awaiting-approval`. */
  awaiting?: string;
}

/**
 * A drill's teardown (SPEC section 10) stopped, or left alone, one service the drill started:
 * after `run.finished`, in reverse order of becoming healthy. Its result in the run stays what
 * the run achieved; this records that it no longer runs.
 */
export interface ServiceTornDown extends ServiceEventBase {
  type: 'service.torn-down';
  ok: boolean;
  /** As `restore down` says it (engine/down.ts StopResult). */
  action: 'stop-command' | 'signal' | 'not-running' | 'left-alone';
  message: string;
}

/** A drill's teardown ended: what was stopped, what failed to stop, what it did not start and left running. */
export interface DrillTornDown {
  type: 'drill.torn-down';
  stopped: string[];
  failed: string[];
  /** One-shots without a stop command: nothing of them runs. */
  left_alone: string[];
  /** Services found healthy (skip_if_healthy): the drill did not start them and so does not stop them. */
  left_running: string[];
}

/**
 * Part of restore's audience went away (SPEC section 4, step 10): a closed pipe (EPIPE), a
 * terminal that hung up (SIGHUP, EIO). That output stopped; the run went on, recorded here.
 */
export interface OutputLost {
  type: 'run.output-lost';
  stream: 'stdout' | 'stderr';
  cause: string;
}

/**
 * A notification (SPEC section 12) was not delivered: every try failed, or it was still pending
 * when the run's short grace at its end ran out. A warning, nothing more: the run goes on, and
 * ends, as it would without notifications.
 */
export interface NotifyFailed {
  type: 'notify.failed';
  /** The sink's place in the plan's `notify:` list, from 0, and its kind. */
  sink: number;
  kind: 'webhook' | 'slack';
  /** Where it was sent, as the URL's origin only: the rest of a webhook URL is a credential. */
  target: string;
  /** The event the message told of. */
  notified: string;
  tries: number;
  /** Why, in words: the last try's HTTP status or error, or that the run ended first. */
  error: string;
}

export type RunEvent =
  | RunStarted
  | OutputLost
  | RunResumed
  | StageStarted
  | StageApproved
  | WaitingApproval
  | AwaitingApproval
  | ServiceStarting
  | ServiceAttempt
  | ServiceProbe
  | ServiceHealthy
  | ServiceAlreadyHealthy
  | ServiceFailed
  | ServiceVerified
  | ServiceBlocked
  | ServiceWarning
  | ServiceSkipped
  | ServiceRolledBack
  | ServiceEscaped
  | ServiceInFlight
  | ServiceOutput
  | StageFinished
  | RunInterrupted
  | RunFinished
  | NotifyFailed
  | ServiceTornDown
  | DrillTornDown;

export type RunEventType = RunEvent['type'];

/** An event as delivered: with the time it happened (epoch milliseconds). */
export type Timed<E extends RunEvent = RunEvent> = E & { time: number };

export type Listener = (event: Timed) => void;

/** The one stream of a run's events; subscribers are called in order, synchronously. */
export class EventBus {
  readonly #listeners: Listener[] = [];
  readonly #times: RunTimes;

  /**
   * With secrets, every event is redacted before any listener sees it (SPEC section 5). `seed`:
   * the times of a resumed run, from its journal.
   */
  constructor(
    private readonly redact?: <T>(value: T) => T,
    seed?: RunTimesSeed,
  ) {
    this.#times = new RunTimes(seed);
  }

  subscribe(listener: Listener): void {
    this.#listeners.push(listener);
  }

  /**
   * Stamps the event with the time (on the event itself: emitters hand over fresh objects) and
   * sets its durations from the events' times (src/run/times.ts), whatever the emitter put there,
   * so that every output shows the same figures. Returns the event as listeners saw it.
   */
  emit<E extends RunEvent>(event: E): Timed<E> {
    const timed = (this.redact ? this.redact(event) : event) as Timed<E>;
    timed.time = Date.now();
    settleDurations(timed, this.#times);
    for (const listener of this.#listeners) listener(timed);
    return timed;
  }
}

function settleDurations(event: Timed, times: RunTimes): void {
  const ms = times.add(event);
  switch (event.type) {
    case 'service.healthy':
    case 'service.failed':
      event.duration_ms = ms ?? 0;
      break;
    case 'run.finished':
      event.duration_ms = times.runUntil(event.time);
      for (const [name, summary] of Object.entries(event.services)) summary.duration_ms = times.service(name);
      break;
    default:
      break;
  }
}
