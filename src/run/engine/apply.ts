import type { LoadedPlan } from '../../plan/load.js';
import type { ResolvedPlan, ResolvedService } from '../../plan/model.js';
import { EventBus, type Listener, type RunResult, type ServiceSummary } from '../events.js';
import { Places } from '../places/places.js';
import type { Launcher } from '../places/process/launch.js';
import { probeRound } from '../probes/round.js';
import { Redactor } from '../redact.js';
import { type RunSnapshot, timesSeed } from '../state/journal/state.js';
import { JournalWriter } from '../state/journal/writer.js';
import { openRunLog } from '../state/run-log.js';
import { ensurePlanState, newRunId, runJournal, runLog } from '../state/state-dir.js';
import { type StateError, unusable } from '../state/state-files.js';
import { adoptDaemon, settleInFlight } from './adopt.js';
import { type ApprovalPolicy, approveStage } from './approvals.js';
import { restoreService } from './restore-service.js';
import { rollBack } from './rollback.js';
import { runStages } from './scheduler.js';
import type { ServiceContext, ServiceOutcome } from './service-context.js';

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
}

/**
 * Runs a restoration (SPEC section 4): every step is an event; the journal, the run log and the
 * renderers subscribe. Never prints. The caller holds the plan's lock.
 */
export async function applyPlan(request: ApplyRequest): Promise<ApplyOutcome> {
  const { loaded, plan, resume } = request;
  const run = resume?.run ?? newRunId();
  const state = ensurePlanState(request.stateDir, plan.name);
  const redactor = new Redactor(loaded.secretValues);
  // A state write that fails (a full disk) stops the run as an interruption does: nothing new
  // starts, and the journal keeps every line written before, so the run can be resumed.
  const ioFailure = new AbortController();
  const onWriteFailure = (error: StateError) => {
    if (!ioFailure.signal.aborted) ioFailure.abort(error);
  };
  const signal = AbortSignal.any([request.signal, ioFailure.signal]);
  const journalFile = runJournal(state, run);
  const logFile = runLog(state, run);
  let journal: JournalWriter | undefined;
  let log: ReturnType<typeof openRunLog>;
  try {
    journal = resume
      ? JournalWriter.resume(journalFile, run, redactor, onWriteFailure)
      : JournalWriter.create(journalFile, run, redactor, onWriteFailure);
    log = openRunLog(logFile, run, onWriteFailure);
  } catch (error) {
    journal?.close();
    throw unusable(state.runsDir, error);
  }
  const bus = new EventBus(
    redactor.active ? (value) => redactor.deep(value) : undefined,
    resume ? timesSeed(resume) : undefined,
  );
  // The journal first: a step is on disk before anyone shows it.
  bus.subscribe(journal.listener);
  bus.subscribe(log.listener);
  for (const listener of request.listeners) bus.subscribe(listener);
  const unwatch = (request.outputs ?? []).map((output) =>
    output.onClose((cause) => bus.emit({ type: 'run.output-lost', stream: output.stream, cause })),
  );

  const stages = plan.stages.map((stage) => ({
    name: stage.name,
    approval: stage.approval,
    services: stage.services,
  }));
  if (resume) {
    bus.emit({
      type: 'run.resumed',
      run,
      plan: plan.name,
      digest: loaded.digest,
      argv: request.argv,
      concurrency: request.concurrency,
      stages,
    });
  } else {
    const selected = new Set(Object.keys(plan.services));
    bus.emit({
      type: 'run.started',
      run,
      plan: plan.name,
      file: loaded.file,
      digest: loaded.digest,
      argv: request.argv,
      concurrency: request.concurrency,
      stages,
      not_selected: Object.keys(loaded.plan.services).filter((name) => !selected.has(name)),
    });
  }

  // Connections to the plan's hosts are shared for the run and closed at its end.
  const places = new Places({
    plan,
    planDir: loaded.dir,
    state,
    secrets: loaded.secretValues,
    launcher: request.launcher,
  });
  const context: ServiceContext = { bus, places, signal, secrets: loaded.secretValues };
  const hostCaps = new Map<string, number>();
  for (const host of Object.values(plan.hosts)) {
    if (host.concurrency !== null) hostCaps.set(host.name, host.concurrency);
  }
  const approvedBefore = new Set(resume?.approvals.map((a) => a.stage) ?? []);
  try {
    const outcome = await runStages(plan, {
      bus,
      concurrency: request.concurrency,
      signal,
      hostCaps,
      restore: (service) => restoreOrReverify(service, context, resume),
      // Approvals given earlier in this run hold.
      approve: async (stage) =>
        approvedBefore.has(stage.name) || (await approveStage(stage, request.approvals, bus)),
    });
    const services = { ...outcome.services };
    if (outcome.halted && request.onFailure === 'rollback' && !signal.aborted) {
      const started = [
        ...(resume?.healthy_order ?? []).filter((name) => services[name]?.result === 'healthy'),
        ...outcome.healthyOrder,
      ];
      for (const name of await rollBack([...new Set(started)], loaded, places, bus)) {
        services[name] = { ...services[name]!, result: 'rolled-back' };
      }
    }
    if (outcome.result === 'interrupted' && request.signal.aborted) {
      bus.emit({
        type: 'run.interrupted',
        signal: request.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT',
      });
    }
    for (const name of Object.keys(loaded.plan.services)) {
      if (!(name in services)) {
        services[name] = {
          stage: loaded.plan.services[name]!.stage,
          result: 'skipped',
          attempts: 0,
          duration_ms: 0,
        };
      }
    }
    // The bus computes the durations from the events' times (src/run/times.ts): what is
    // returned is what the journal, the log and every view got.
    const finished = bus.emit({
      type: 'run.finished',
      result: outcome.result,
      duration_ms: 0,
      services,
      ...(outcome.awaiting ? { awaiting: outcome.awaiting } : {}),
    });
    return {
      run,
      result: outcome.result,
      ...(outcome.awaiting ? { awaiting: outcome.awaiting } : {}),
      logFile,
      journalFile,
      durationMs: finished.duration_ms,
      services: finished.services,
      ...(ioFailure.signal.aborted ? { stateError: ioFailure.signal.reason as StateError } : {}),
    };
  } finally {
    for (const stop of unwatch) stop();
    await places.close();
    journal.close();
    await log.close();
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
