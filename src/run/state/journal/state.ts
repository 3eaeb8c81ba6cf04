import { unreachable } from '../../../util/unreachable.js';
import type { RunMode, RunResult, ServiceResult, StageFinished, StandInHost } from '../../events.js';
import { RunTimes, type RunTimesSeed, type TimedStep } from '../../times.js';
import type { JournalEntry, JournalEventType } from './format.js';
import { type JournalRead, readJournal } from './read.js';

/** A run as its journal tells it: what `status`, `report` and `--resume` read. */
export interface RunSnapshot {
  run: string;
  plan: string;
  file: string;
  digest: string;
  state: 'running' | RunResult;
  started_at: string;
  finished_at: string | null;
  awaiting: string | null;
  approvals: { stage: string; approver: string; time: string }[];
  services: Record<string, ServiceState>;
  /** Services in the order they became healthy in this run (rollback stops them in reverse). */
  healthy_order: string[];
  /**
   * What the run went on despite (`service.warning`, SPEC section 11), in the order said. Replay
   * always sets it; a snapshot put together by hand may leave it out.
   */
  warnings?: {
    service: string;
    stage: string;
    cause: string;
    dependency: string | null;
    message: string;
    time: string;
  }[];
  /** Complete journal lines. */
  lines: number;
  /** The run's wall time so far (src/run/times.ts), as `run.finished` and the summary count it. */
  duration_ms: number;
  /** The time of the journal's last line: how far the run is known (targets still open are measured to it). */
  updated_at: string;
  /** Services of the plan left out by --only. */
  not_selected: string[];
  /** The run's stages, in plan order: when each started and finished, and how long its gate waited. */
  stages: Record<string, StageState>;
  /** Every stage's `approval_wait_ms`, summed: the part of the run spent waiting for people. */
  approval_wait_ms: number;
  /**
   * `drill` for `restore drill` (SPEC section 10); `apply` also for journals written before drills.
   * The replay always sets these three; optional so that snapshots made by hand need not.
   */
  mode?: RunMode;
  /** A drill's `--hosts` stand-ins; null when the plan's own hosts were used. */
  hosts?: Record<string, StandInHost> | null;
  /** A drill's teardown since it last (re)started; null for an apply. */
  teardown?: Teardown | null;
}

/** What a drill's teardown has done (SPEC section 10). */
export interface Teardown {
  /** `drill.torn-down` recorded after the latest start or resume: nothing the drill started is left. */
  finished: boolean;
  stopped: string[];
  failed: string[];
  left_running: string[];
}

export interface StageState {
  result: 'pending' | 'running' | StageFinished['result'];
  /** Its first `stage.started` (a resumed run starts it again; the first start counts). */
  started_at: string | null;
  /** Its latest `stage.finished`. */
  finished_at: string | null;
  /**
   * How long its approval gate held it (SPEC section 9): from the run reaching the gate (the run's
   * start or the end of the stage before) to the stage starting, exit 4 and the time before
   * `--resume` included; still counting, to the last line, while it waits. 0 without a gate.
   */
  approval_wait_ms: number;
  /** Where its gate was reached; null without a gate. */
  gate_at: string | null;
}

export interface ServiceState {
  stage: string;
  result: ServiceResult | 'pending' | 'running';
  attempts: number;
  duration_ms: number;
  /**
   * For the report's timeline: the span its `duration_ms` measures (it became healthy or failed at
   * `finished_at`); for a blocked or skipped service, `finished_at` is when that was decided.
   */
  started_at: string | null;
  finished_at: string | null;
  reason: string | null;
  /** When its first start attempt began (`service.starting`), in any segment of the run (SPEC section 10). */
  first_attempt_at: string | null;
  /** The mark of its latest attempt's processes and when that attempt started (see ServiceStarting). */
  mark: string | null;
  attempt_at: string | null;
}

/** The entry of one event of the journal, its fields typed. */
type EntryOf<T extends JournalEventType> = Extract<JournalEntry, { event: T }>;

/**
 * The one reading of a run's journal: `status`, `report` and `--resume` all see the run through
 * it. Undefined when the run never recorded its start.
 */
export function readRun(file: string): RunSnapshot | undefined {
  return replay(readJournal(file));
}

/** Replays a journal's entries into the state of its run; undefined when it never started. */
export function replay(journal: Pick<JournalRead, 'entries' | 'lines'>): RunSnapshot | undefined {
  const [first, ...rest] = journal.entries;
  if (first?.event !== 'run.started') return undefined;
  const snapshot = started(first, journal.lines);
  const times = new RunTimes();
  const gates = new Gates(Date.parse(first.time));
  times.add(timedStep(first));
  for (const entry of rest) {
    times.add(timedStep(entry));
    step(snapshot, entry);
    gates.add(snapshot, entry);
    snapshot.updated_at = entry.time;
  }
  settleTimes(snapshot, times);
  gates.settle(snapshot);
  return snapshot;
}

/**
 * How long each approval gate held its stage: the gate is reached where the stage before ended
 * (or the run began), and it holds until the stage starts. Only a stage that asked for an approval
 * (a `stage.approved`, `stage.waiting-approval` or `run.awaiting-approval` line) has a gate.
 */
class Gates {
  /** The end of the latest stage, or the run's start: where the next gate is reached. */
  #boundary: number;
  readonly #reached = new Map<string, number>();

  constructor(started: number) {
    this.#boundary = started;
  }

  add(snapshot: RunSnapshot, entry: JournalEntry): void {
    switch (entry.event) {
      case 'stage.finished':
        this.#boundary = Date.parse(entry.time);
        return;
      case 'stage.approved':
      case 'stage.waiting-approval':
      case 'run.awaiting-approval':
        // A stage already started has passed its gate (a resumed run records its approvals again).
        if (!this.#reached.has(entry.stage) && snapshot.stages[entry.stage]?.started_at == null)
          this.#reached.set(entry.stage, this.#boundary);
        return;
      default:
        return;
    }
  }

  settle(snapshot: RunSnapshot): void {
    let total = 0;
    for (const [name, reached] of this.#reached) {
      const stage = snapshot.stages[name];
      if (!stage) continue;
      const until = Date.parse(stage.started_at ?? snapshot.updated_at);
      stage.approval_wait_ms = Math.max(0, until - reached);
      stage.gate_at = new Date(reached).toISOString();
      total += stage.approval_wait_ms;
    }
    snapshot.approval_wait_ms = total;
  }
}

/** What a resumed run's clock starts from: the times its journal holds so far. */
export function timesSeed(snapshot: RunSnapshot): RunTimesSeed {
  return {
    started: Date.parse(snapshot.started_at),
    services: Object.fromEntries(Object.entries(snapshot.services).map(([name, s]) => [name, s.duration_ms])),
  };
}

/** The run as its first line leaves it: every service of its stages pending, those left out skipped. */
function started(first: EntryOf<'run.started'>, lines: number): RunSnapshot {
  const snapshot: RunSnapshot = {
    run: first.run,
    plan: first.plan,
    file: first.file,
    digest: first.digest,
    state: 'running',
    started_at: first.time,
    finished_at: null,
    awaiting: null,
    approvals: [],
    services: {},
    healthy_order: [],
    warnings: [],
    lines,
    duration_ms: 0,
    updated_at: first.time,
    not_selected: [...first.not_selected],
    stages: {},
    approval_wait_ms: 0,
    mode: first.mode ?? 'apply',
    hosts: first.hosts ?? null,
    teardown: first.mode === 'drill' ? unfinishedTeardown() : null,
  };
  for (const stage of first.stages) {
    snapshot.stages[stage.name] = {
      result: 'pending',
      started_at: null,
      finished_at: null,
      approval_wait_ms: 0,
      gate_at: null,
    };
    for (const name of stage.services) service(snapshot, name, stage.name);
  }
  for (const name of first.not_selected)
    Object.assign(service(snapshot, name, ''), { result: 'skipped', reason: 'not selected (--only)' });
  return snapshot;
}

/**
 * Folds one line into the run. Every event the journal records has its case: one that changes
 * nothing `status`, `report` or `--resume` show says so, so that a new event is a decision here.
 */
function step(snapshot: RunSnapshot, entry: JournalEntry): void {
  switch (entry.event) {
    case 'run.resumed':
      snapshot.state = 'running';
      snapshot.finished_at = null;
      snapshot.awaiting = null;
      // A resumed drill starts services again: a teardown before does not cover them.
      if (snapshot.teardown) snapshot.teardown = unfinishedTeardown();
      return;
    case 'service.torn-down':
      // The service's result stays what the drill achieved; the teardown keeps what it did.
      if (snapshot.teardown && !entry.ok) snapshot.teardown.failed.push(entry.service);
      else if (snapshot.teardown && entry.action !== 'left-alone')
        snapshot.teardown.stopped.push(entry.service);
      return;
    case 'drill.torn-down':
      snapshot.teardown = {
        finished: true,
        stopped: entry.stopped,
        failed: entry.failed,
        left_running: entry.left_running,
      };
      return;
    case 'stage.approved':
      snapshot.approvals.push({ stage: entry.stage, approver: entry.approver, time: entry.time });
      return;
    case 'service.starting':
      starting(service(snapshot, entry.service, entry.stage), entry);
      return;
    case 'service.healthy':
      healthy(snapshot, entry);
      return;
    case 'service.already-healthy':
      alreadyHealthy(service(snapshot, entry.service, entry.stage), entry);
      return;
    case 'service.failed':
      failed(service(snapshot, entry.service, entry.stage), entry);
      return;
    case 'service.blocked':
      Object.assign(service(snapshot, entry.service, entry.stage), {
        result: 'blocked',
        reason: `blocked by ${entry.by}`,
        finished_at: entry.time,
      });
      return;
    case 'service.skipped':
      skipped(service(snapshot, entry.service, entry.stage), entry);
      return;
    case 'service.rolled-back':
      rolledBack(service(snapshot, entry.service, entry.stage), entry);
      return;
    case 'stage.waiting-approval':
      // The wait itself changes nothing: the approvals that end it are their own lines.
      return;
    case 'run.awaiting-approval':
      snapshot.state = 'awaiting-approval';
      snapshot.awaiting = entry.stage;
      return;
    case 'run.interrupted':
      snapshot.state = 'interrupted';
      return;
    case 'run.finished':
      snapshot.state = entry.result;
      snapshot.finished_at = entry.time;
      snapshot.awaiting = entry.awaiting ?? null;
      return;
    // A journal holds one run.started, its first line, read by `started`.
    case 'run.started':
      return;
    case 'stage.started':
      stageStarted(snapshot, entry);
      return;
    case 'stage.finished':
      stageFinished(stageOf(snapshot, entry.stage), entry);
      return;
    // Steps inside a service's attempt, or around the run, that its state does not show; their
    // times count all the same (RunTimes).
    case 'run.output-lost':
    case 'service.attempt':
    case 'service.probe':
    case 'service.escaped':
    case 'service.in-flight':
    case 'service.verified':
    // A notification that did not arrive is a warning; the run's state is what it was.
    case 'notify.failed':
      return;
    // A warning (SPEC section 11) changes no service's state: what became of it follows. The
    // report lists it.
    case 'service.warning':
      snapshot.warnings ??= [];
      snapshot.warnings.push({
        service: entry.service,
        stage: entry.stage,
        cause: entry.cause,
        dependency: entry.dependency,
        message: entry.message,
        time: entry.time,
      });
      return;
    default:
      unreachable(entry);
      return;
  }
}

function stageStarted(snapshot: RunSnapshot, entry: EntryOf<'stage.started'>): void {
  const stage = stageOf(snapshot, entry.stage);
  stage.started_at ??= entry.time;
  // A resumed run goes through a stage that was done to confirm its services: it stays done when
  // they are, with the times it had.
  if (stage.result === 'succeeded') return;
  stage.result = 'running';
  stage.finished_at = null;
}

function stageFinished(stage: StageState, entry: EntryOf<'stage.finished'>): void {
  if (stage.result === 'succeeded' && entry.result === 'succeeded') return;
  stage.result = entry.result;
  stage.finished_at = entry.time;
}

/** A stage's state, pending until the run starts it. */
function stageOf(snapshot: RunSnapshot, name: string): StageState {
  snapshot.stages[name] ??= {
    result: 'pending',
    started_at: null,
    finished_at: null,
    approval_wait_ms: 0,
    gate_at: null,
  };
  return snapshot.stages[name];
}

function starting(s: ServiceState, entry: EntryOf<'service.starting'>): void {
  s.first_attempt_at ??= entry.time;
  s.result = 'running';
  s.attempts = entry.attempt;
  s.reason = null;
  s.mark = entry.mark ?? null;
  s.attempt_at = entry.time;
}

function healthy(snapshot: RunSnapshot, entry: EntryOf<'service.healthy'>): void {
  const s = service(snapshot, entry.service, entry.stage);
  s.result = 'healthy';
  s.reason = null;
  // A resumed run's confirmation keeps the time it became healthy.
  if (entry.resumed !== true || s.finished_at === null) s.finished_at = entry.time;
  s.attempts = entry.attempts;
  if (!snapshot.healthy_order.includes(entry.service)) snapshot.healthy_order.push(entry.service);
}

function alreadyHealthy(s: ServiceState, entry: EntryOf<'service.already-healthy'>): void {
  s.result = 'already-healthy';
  s.reason = null;
  s.finished_at ??= entry.time;
}

function failed(s: ServiceState, entry: EntryOf<'service.failed'>): void {
  s.result = 'failed';
  s.attempts = entry.attempts;
  s.finished_at = entry.time;
  s.reason = entry.message;
}

function skipped(s: ServiceState, entry: EntryOf<'service.skipped'>): void {
  // A service up before the run was halted stays up.
  if (s.result === 'healthy' || s.result === 'already-healthy') return;
  Object.assign(s, { result: 'skipped', reason: entry.why, finished_at: entry.time });
}

function rolledBack(s: ServiceState, entry: EntryOf<'service.rolled-back'>): void {
  // A one-shot left alone was not rolled back, nor was a service whose stop failed.
  if (!entry.ok || entry.left_alone === true) return;
  // Its timeline keeps the span in which it became healthy.
  s.result = 'rolled-back';
}

function unfinishedTeardown(): Teardown {
  return { finished: false, stopped: [], failed: [], left_running: [] };
}

/** A service's state, made pending in `stage` when the run first names it. */
function service(snapshot: RunSnapshot, name: string, stage: string): ServiceState {
  snapshot.services[name] ??= {
    stage,
    result: 'pending',
    attempts: 0,
    duration_ms: 0,
    started_at: null,
    finished_at: null,
    reason: null,
    first_attempt_at: null,
    mark: null,
    attempt_at: null,
  };
  return snapshot.services[name];
}

/** What the run's clock (src/run/times.ts) reads of a line. */
function timedStep(entry: JournalEntry): TimedStep {
  return {
    type: entry.event,
    time: Date.parse(entry.time),
    service: 'service' in entry ? entry.service : '',
    // Absent from the probe lines of an older restore: its round then counts from its end.
    duration_ms: 'duration_ms' in entry ? entry.duration_ms : 0,
  };
}

/** Durations from the run's clock, and the spans they measure for the report's timeline. */
function settleTimes(snapshot: RunSnapshot, times: RunTimes): void {
  for (const [name, s] of Object.entries(snapshot.services)) {
    s.duration_ms = times.service(name);
    if (s.finished_at !== null && s.result !== 'blocked' && s.result !== 'skipped')
      s.started_at = new Date(Date.parse(s.finished_at) - s.duration_ms).toISOString();
  }
  snapshot.duration_ms = times.run();
}
