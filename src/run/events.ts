import type { CommandRecord, Stream } from './executor/types.js';
import type { CheckResult } from './probes/types.js';

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
  | 'interrupted';

/** Why a service was skipped. */
export type SkipReason = 'not-selected' | 'halted' | 'interrupted';

export interface ServiceSummary {
  stage: string;
  result: ServiceResult;
  attempts: number;
  duration_ms: number;
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
  /** How the approval was given. */
  via: 'yes' | 'approve-flag' | 'prompt' | 'journal';
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
}

/** The outcome of one attempt of the start command. */
export interface ServiceAttempt extends ServiceEventBase {
  type: 'service.attempt';
  attempt: number;
  ok: boolean;
  record: CommandRecord;
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
}

export interface ServiceHealthy extends ServiceEventBase {
  type: 'service.healthy';
  attempts: number;
  rounds: number;
  duration_ms: number;
  pid: number | null;
  /** True when a resumed run found it still healthy with one probe round (it was not restarted). */
  resumed?: boolean;
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
 * Part of restore's audience went away (SPEC section 4, step 10): a closed pipe (EPIPE), a
 * terminal that hung up (SIGHUP, EIO). That output stopped; the run went on, recorded here.
 */
export interface OutputLost {
  type: 'run.output-lost';
  stream: 'stdout' | 'stderr';
  cause: string;
}

export type RunEvent =
  | RunStarted
  | OutputLost
  | RunResumed
  | StageStarted
  | StageApproved
  | AwaitingApproval
  | ServiceStarting
  | ServiceAttempt
  | ServiceProbe
  | ServiceHealthy
  | ServiceAlreadyHealthy
  | ServiceFailed
  | ServiceBlocked
  | ServiceSkipped
  | ServiceRolledBack
  | ServiceOutput
  | StageFinished
  | RunInterrupted
  | RunFinished;

export type RunEventType = RunEvent['type'];

/** An event as delivered: with the time it happened (epoch milliseconds). */
export type Timed<E extends RunEvent = RunEvent> = E & { time: number };

export type Listener = (event: Timed) => void;

/** The one stream of a run's events; subscribers are called in order, synchronously. */
export class EventBus {
  readonly #listeners: Listener[] = [];

  /** With secrets, every event is redacted before any listener sees it (SPEC section 5). */
  constructor(private readonly redact?: <T>(value: T) => T) {}

  subscribe(listener: Listener): void {
    this.#listeners.push(listener);
  }

  /** Stamps the event with the time (on the event itself: emitters hand over fresh objects). */
  emit(event: RunEvent): void {
    const timed = (this.redact ? this.redact(event) : event) as Timed;
    timed.time = Date.now();
    for (const listener of this.#listeners) listener(timed);
  }
}
