import type { LoadedPlan } from '../plan/load.js';
import type { ResolvedPlan } from '../plan/model.js';
import { type ApprovalPolicy, approveStage } from './approvals.js';
import { EventBus, type Listener, type RunResult, type ServiceSummary } from './events.js';
import { directLauncher, type Launcher, useLauncher } from './executor/launch.js';
import { openRunLog } from './run-log.js';
import { runStages } from './scheduler.js';
import { restoreService } from './service-runner.js';
import { ensurePlanState, newRunId, runLog } from './state-dir.js';

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
  /** Starts the plan's commands (the spawner helper, see executor/spawner.ts). */
  launcher: Launcher;
}

export interface ApplyOutcome {
  run: string;
  result: RunResult;
  awaiting?: string;
  logFile: string;
  durationMs: number;
  services: Record<string, ServiceSummary>;
}

/** Runs a restoration: every step is an event; subscribers show and record it. Never prints. */
export async function applyPlan(request: ApplyRequest): Promise<ApplyOutcome> {
  const { loaded, plan } = request;
  const started = Date.now();
  const run = newRunId();
  const state = ensurePlanState(request.stateDir, plan.name);
  const logFile = runLog(state, run);
  const log = openRunLog(logFile, run);
  const bus = new EventBus();
  bus.subscribe(log.listener);
  for (const listener of request.listeners) bus.subscribe(listener);

  useLauncher(request.launcher);
  const selected = new Set(Object.keys(plan.services));
  bus.emit({
    type: 'run.started',
    run,
    plan: plan.name,
    file: loaded.file,
    digest: loaded.digest,
    argv: request.argv,
    concurrency: request.concurrency,
    stages: plan.stages.map((stage) => ({
      name: stage.name,
      approval: stage.approval,
      services: stage.services,
    })),
    not_selected: Object.keys(loaded.plan.services).filter((name) => !selected.has(name)),
  });

  try {
    const outcome = await runStages(plan, {
      bus,
      concurrency: request.concurrency,
      signal: request.signal,
      restore: (service) =>
        restoreService(service, { bus, planDir: loaded.dir, state, signal: request.signal }),
      approve: (stage) => approveStage(stage, request.approvals, bus),
    });
    if (outcome.result === 'interrupted') {
      bus.emit({
        type: 'run.interrupted',
        signal: request.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT',
      });
    }
    const services = { ...outcome.services };
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
    const durationMs = Date.now() - started;
    bus.emit({
      type: 'run.finished',
      result: outcome.result,
      duration_ms: durationMs,
      services,
      ...(outcome.awaiting ? { awaiting: outcome.awaiting } : {}),
    });
    return {
      run,
      result: outcome.result,
      ...(outcome.awaiting ? { awaiting: outcome.awaiting } : {}),
      logFile,
      durationMs,
      services,
    };
  } finally {
    useLauncher(directLauncher);
    await log.close();
  }
}
