import type { LoadedPlan } from '../../plan/load.js';
import type { ResolvedPlan, ResolvedService } from '../../plan/model.js';
import {
  EventBus,
  type Listener,
  type RunMode,
  type RunResult,
  type ServiceSummary,
  type StandInHost,
} from '../events.js';
import { Places } from '../places/places.js';
import type { Launcher } from '../places/process/launch.js';
import { probeRound } from '../probes/round.js';
import { Redactor } from '../redact.js';
import { type RunSnapshot, timesSeed } from '../state/journal/state.js';
import { JournalWriter } from '../state/journal/writer.js';
import { keepPlanCopy } from '../state/plan-copy.js';
import { openRunLog } from '../state/run-log.js';
import { ensurePlanState, newRunId, type PlanState, runJournal, runLog } from '../state/state-dir.js';
import { type StateError, unusable } from '../state/state-files.js';
import { adoptDaemon, settleInFlight } from './adopt.js';
import { type ApprovalPolicy, approveStage, type GateContext } from './approvals.js';
import { restoreService, reverifyIntegrity } from './restore-service.js';
import { rollBack } from './rollback.js';
import { runStages, type SchedulerOutcome } from './scheduler.js';
import type { ServiceContext, ServiceOutcome } from './service-context.js';
import { type TeardownOutcome, tearDown } from './teardown.js';

export interface ApplyRequest {
  loaded: LoadedPlan;
  /** The plan to run: the whole plan, or the selection of --only. */
  plan: ResolvedPlan;
  stateDir: string;
  concurrency: number;
  approvals: ApprovalPolicy;
  /** Aborts on SIGINT/SIGTERM; its reason is the signal name. */
  signal: AbortSignal;
  /** restore's own argv, recorded with the run. */
  argv: string[];
  /** Renderers and other subscribers, called for every event. */
  listeners: Listener[];
  /** Starts the plan's commands (the spawner helper, see places/process/spawner.ts). */
  launcher: Launcher;
  onFailure: 'halt' | 'rollback';
  /** `--resume`: the run to continue, as its journal tells it. */
  resume?: RunSnapshot;
  /** The outputs showing the run: when one goes away, the journal records it (`run.output-lost`). */
  outputs?: readonly WatchedOutput[];
  /**
   * Work of subscribers left after the run's last event (a trace to send, a metrics file to
   * write; src/observe/): awaited, each bounded by itself, before the run log closes, which
   * records the warnings they return.
   */
  finishers?: readonly (() => Promise<readonly { source: string; message: string }[]>)[];
  /** `drill`: after the run, whatever its result, what it started is stopped (SPEC section 10). */
  mode?: RunMode;
  /** A drill's `--hosts` stand-ins, recorded with `run.started` (`plan` already uses them). */
  hosts?: Record<string, StandInHost>;
}

/** An output whose reader may go away (a closed pipe, a hung-up terminal). */
export interface WatchedOutput {
  stream: 'stdout' | 'stderr';
  /** Calls back once when it closes, with why; returns a function that stops watching. */
  onClose(listener: (cause: string) => void): () => void;
}

export interface ApplyOutcome {
  run: string;
  result: RunResult;
  awaiting?: string;
  logFile: string;
  journalFile: string;
  durationMs: number;
  services: Record<string, ServiceSummary>;
  /** A write to the journal or the run log failed (a full disk): the run was stopped there. */
  stateError?: StateError;
  /** A drill's teardown, after `run.finished`. */
  teardown?: TeardownOutcome;
}

/**
 * Runs a restoration (SPEC section 4): every step is an event; the journal, the run log and the
 * renderers subscribe. Never prints. The caller holds the plan's lock.
 */
export async function applyPlan(request: ApplyRequest): Promise<ApplyOutcome> {
  const { loaded, plan, resume } = request;
  const run = resume?.run ?? newRunId();
  const state = ensurePlanState(request.stateDir, plan.name);
  const files = openRunFiles(request, state, run);
  // A state write that fails (a full disk) stops the run as an interruption does.
  const signal = AbortSignal.any([request.signal, files.failure]);
  const bus = new EventBus(
    files.redactor.active ? (value) => files.redactor.deep(value) : undefined,
    resume ? timesSeed(resume) : undefined,
  );
  // The journal first: a step is on disk before anyone shows it.
  bus.subscribe(files.journal.listener);
  bus.subscribe(files.log.listener);
  for (const listener of request.listeners) bus.subscribe(listener);
  // Notification sinks (SPEC section 12) subscribe like the views; they load only for a plan
  // that has one, and get a short grace at the end for what is still on its way.
  const notifier = plan.notify?.some((sink) => sink.url !== '')
    ? await (await import('../../notify/notifier.js')).startNotifier({
        plan,
        file: loaded.file,
        bus,
        secrets: loaded.secretValues,
      })
    : undefined;
  const unwatch = (request.outputs ?? []).map((output) =>
    output.onClose((cause) => bus.emit({ type: 'run.output-lost', stream: output.stream, cause })),
  );
  announce(bus, request, run);
  // Connections to the plan's hosts are shared for the run and closed at its end.
  const places = new Places({
    plan,
    planDir: loaded.dir,
    state,
    secrets: loaded.secretValues,
    launcher: request.launcher,
  });
  const context: ServiceContext = { bus, places, signal, secrets: loaded.secretValues };
  // Approvals given earlier in this run hold (SPEC section 5), each name once per stage.
  let drill: (() => Promise<TeardownOutcome>) | undefined =
    request.mode === 'drill' ? () => tearDown(files.journalFile, plan, places, bus) : undefined;
  const gate: GateContext = {
    bus,
    state,
    run,
    digest: loaded.digest,
    planDir: loaded.dir,
    signal,
    given: resume?.approvals ?? [],
  };
  try {
    const outcome = await runStages(plan, {
      bus,
      concurrency: request.concurrency,
      signal,
      hostCaps: hostCaps(plan),
      restore: (service) => restoreOrReverify(service, context, resume),
      approve: (stage) => approveStage(stage, request.approvals, gate),
    });
    const services = { ...outcome.services };
    if (outcome.halted && request.onFailure === 'rollback' && !signal.aborted)
      await rollBackStarted(services, outcome, request, places, bus);
    if (outcome.result === 'interrupted' && request.signal.aborted) {
      bus.emit({
        type: 'run.interrupted',
        signal: request.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT',
      });
    }
    // Services the run never reached (not selected, or after a halt) are skipped.
    for (const [name, service] of Object.entries(loaded.plan.services)) {
      services[name] ??= { stage: service.stage, result: 'skipped', attempts: 0, duration_ms: 0 };
    }
    const awaiting = outcome.awaiting ? { awaiting: outcome.awaiting } : {};
    // The bus computes the durations from the events' times (src/run/times.ts): what is
    // returned is what the journal, the log and every view got.
    const finished = bus.emit({
      type: 'run.finished',
      result: outcome.result,
      duration_ms: 0,
      services,
      ...awaiting,
    });
    // After run.finished, so that the run's times are the restoration's, not the teardown's.
    const tearDownNow = drill;
    drill = undefined;
    const teardown = await tearDownNow?.();
    // The result is settled and shown; delivery never changes it, and never holds it long.
    await notifier?.finish(signal);
    return {
      run,
      result: outcome.result,
      ...awaiting,
      logFile: files.logFile,
      journalFile: files.journalFile,
      durationMs: finished.duration_ms,
      services: finished.services,
      ...(files.failure.aborted ? { stateError: files.failure.reason as StateError } : {}),
      ...(teardown ? { teardown } : {}),
    };
  } finally {
    // A drill that ended in a bug of restore still stops what it started, as far as it can.
    await drill?.().catch(() => undefined);
    notifier?.close();
    for (const stop of unwatch) stop();
    for (const finish of request.finishers ?? []) {
      for (const warning of await finish()) files.log.warn(warning.source, warning.message);
    }
    await places.close();
    files.journal.close();
    await files.log.close();
  }
}

/**
 * The run's journal (created, or continued on resume) and its log. A write to either that fails
 * (a full disk) aborts `failure` with the StateError: nothing new starts, and the journal keeps
 * every line written before, so the run can be resumed.
 */
function openRunFiles(request: ApplyRequest, state: PlanState, run: string) {
  const redactor = new Redactor(request.loaded.secretValues);
  const failed = new AbortController();
  const onWriteFailure = (error: StateError) => {
    if (!failed.signal.aborted) failed.abort(error);
  };
  const journalFile = runJournal(state, run);
  const logFile = runLog(state, run);
  let journal: JournalWriter | undefined;
  try {
    // What `restore evidence` shows as applied: kept before the run's first line is written.
    if (!request.resume) keepPlanCopy(state, run, request.loaded, redactor);
    journal = request.resume
      ? JournalWriter.resume(journalFile, run, redactor, onWriteFailure)
      : JournalWriter.create(journalFile, run, redactor, onWriteFailure);
    const log = openRunLog(logFile, run, onWriteFailure);
    return { journal, log, journalFile, logFile, redactor, failure: failed.signal };
  } catch (error) {
    journal?.close();
    throw unusable(state.runsDir, error);
  }
}

/** The run's first event: `run.started`, or `run.resumed` when it continues an earlier one. */
function announce(bus: EventBus, request: ApplyRequest, run: string): void {
  const { loaded, plan } = request;
  const stages = plan.stages.map((stage) => ({
    name: stage.name,
    approval: stage.approval,
    services: stage.services,
  }));
  const common = {
    run,
    plan: plan.name,
    digest: loaded.digest,
    argv: request.argv,
    concurrency: request.concurrency,
    stages,
  };
  if (request.resume) {
    bus.emit({ type: 'run.resumed', ...common });
    return;
  }
  const selected = new Set(Object.keys(plan.services));
  const notSelected = Object.keys(loaded.plan.services).filter((name) => !selected.has(name));
  bus.emit({
    type: 'run.started',
    ...common,
    file: loaded.file,
    not_selected: notSelected,
    mode: request.mode ?? 'apply',
    ...(request.hosts ? { hosts: request.hosts } : {}),
  });
}

/** Each host's own cap on services in flight there. */
function hostCaps(plan: ResolvedPlan): Map<string, number> {
  const caps = new Map<string, number>();
  for (const host of Object.values(plan.hosts)) {
    if (host.concurrency !== null) caps.set(host.name, host.concurrency);
  }
  return caps;
}

/**
 * `--on-failure rollback`: what this run (and the run it resumes) brought up is stopped again,
 * in reverse order; those stopped are `rolled-back` in `services`.
 */
async function rollBackStarted(
  services: Record<string, ServiceSummary>,
  outcome: SchedulerOutcome,
  request: ApplyRequest,
  places: Places,
  bus: EventBus,
): Promise<void> {
  const started = [
    ...(request.resume?.healthy_order ?? []).filter((name) => services[name]?.result === 'healthy'),
    ...outcome.healthyOrder,
  ];
  for (const name of await rollBack([...new Set(started)], request.loaded, places, bus)) {
    services[name] = { ...services[name]!, result: 'rolled-back' };
  }
}

/**
 * On resume, a service the journal records healthy is re-verified with one probe round and not
 * restarted when it passes (SPEC section 5); anything else is restored as in a fresh run.
 */
async function restoreOrReverify(
  service: ResolvedService,
  context: ServiceContext,
  resume: RunSnapshot | undefined,
): Promise<ServiceOutcome> {
  const before = resume?.services[service.name];
  if (before?.result === 'healthy' || before?.result === 'already-healthy') {
    const started = Date.now();
    const round =
      service.health.checks.length === 0
        ? { ok: true }
        : await probeRound(service.health.checks, {
            timeoutMs: service.health.timeout_ms,
            place: context.places.of(service),
            signal: context.signal,
          });
    if (context.signal.aborted)
      return { result: 'interrupted', attempts: 0, durationMs: Date.now() - started };
    if (round.ok) {
      const tampered = await reverifyIntegrity(service, context);
      if (tampered) return tampered;
      const base = { service: service.name, stage: service.stage };
      if (before.result === 'already-healthy') {
        context.bus.emit({ type: 'service.already-healthy', ...base });
        return { result: 'already-healthy', attempts: 0, durationMs: Date.now() - started };
      }
      context.bus.emit({
        type: 'service.healthy',
        ...base,
        attempts: before.attempts,
        rounds: 1,
        duration_ms: before.duration_ms,
        service_pid: null,
        resumed: true,
      });
      return { result: 'healthy', attempts: before.attempts, durationMs: before.duration_ms, pid: null };
    }
  }
  if (before?.result === 'running') {
    const adopted = await adoptDaemon(service, before.attempts, context);
    if (adopted) return adopted;
    // A one-shot still running from before ends (or is stopped) before it starts again.
    if (!(await settleInFlight(service, before, context)))
      return { result: 'interrupted', attempts: before.attempts, durationMs: 0 };
  }
  return restoreService(service, context);
}
