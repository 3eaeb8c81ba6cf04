import PQueue from 'p-queue';
import type { ResolvedPlan, ResolvedService, ResolvedStage } from '../../plan/model.js';
import type { EventBus, RunResult, ServiceResult, ServiceSummary, SkipReason } from '../events.js';
import type { ServiceOutcome } from './service-context.js';

export interface SchedulerOptions {
  bus: EventBus;
  /** Global cap of services in flight. */
  concurrency: number;
  /** Aborts when the run is interrupted: nothing new starts. */
  signal: AbortSignal;
  restore: (service: ResolvedService) => Promise<ServiceOutcome>;
  /** Decides whether a stage that needs approval may start. */
  approve: (stage: ResolvedStage) => Promise<boolean>;
  /** Hosts' caps of their services in flight (SPEC section 6), by host name. */
  hostCaps?: ReadonlyMap<string, number>;
}

export interface SchedulerOutcome {
  result: RunResult;
  /** A critical service failed: the run stopped starting services. */
  halted: boolean;
  /** Services this run brought up, in the order they became healthy. */
  healthyOrder: string[];
  /** The stage waiting for approval, when the result is `awaiting-approval`. */
  awaiting?: string;
  services: Record<string, ServiceSummary>;
}

interface Slot {
  service: ResolvedService;
  state: 'pending' | 'queued' | 'running' | 'done';
  result?: ServiceResult;
  attempts: number;
  durationMs: number;
  /** Why it failed, in words. */
  reason?: string;
}

/**
 * Groups stages into what runs together: each declared stage alone (a barrier), and all computed
 * waves in one group (they are groups for reading, not barriers: SPEC section 2, Stages).
 */
export function barrierGroups(stages: readonly ResolvedStage[]): ResolvedStage[][] {
  const groups: ResolvedStage[][] = [];
  for (const stage of stages) {
    const last = groups.at(-1);
    if (stage.computed && last?.[0]?.computed) last.push(stage);
    else groups.push([stage]);
  }
  return groups;
}

/**
 * Runs the declared stages strictly in order (SPEC section 4, steps 3, 4 and 7). Inside a stage a service
 * is queued the moment all its dependencies are healthy, in start order, and starts within the
 * stage's and the global concurrency caps. A failure blocks everything that depends on the failed
 * service; a critical failure halts the run: nothing new starts anywhere, what is in flight
 * finishes, later stages are skipped.
 */
export async function runStages(plan: ResolvedPlan, options: SchedulerOptions): Promise<SchedulerOutcome> {
  const { bus } = options;
  const slots = new Map<string, Slot>();
  for (const stage of plan.stages) {
    for (const name of stage.services) {
      slots.set(name, { service: plan.services[name]!, state: 'pending', attempts: 0, durationMs: 0 });
    }
  }
  const dependents = new Map<string, string[]>();
  for (const slot of slots.values()) {
    for (const dep of slot.service.depends_on) {
      if (!slots.has(dep)) continue;
      const list = dependents.get(dep);
      if (list) list.push(slot.service.name);
      else dependents.set(dep, [slot.service.name]);
    }
  }
  const stageIndex = new Map(plan.stages.map((stage, index) => [stage.name, index]));
  let halted = false;
  let awaiting: string | undefined;
  // Services of each capped host queued or running. A service whose host is full is not queued
  // at all, so it never holds a stage slot that another host's service could use.
  const hostBusy = new Map<string, number>();
  const hostFull = (service: ResolvedService) => {
    const cap = service.host === null ? undefined : options.hostCaps?.get(service.host);
    return cap !== undefined && (hostBusy.get(service.host!) ?? 0) >= cap;
  };
  const hostCount = (service: ResolvedService, delta: number) => {
    if (service.host !== null) hostBusy.set(service.host, (hostBusy.get(service.host) ?? 0) + delta);
  };
  const healthyOrder: string[] = [];

  const finish = (slot: Slot, result: ServiceResult, attempts = 0, durationMs = 0) => {
    slot.state = 'done';
    slot.result = result;
    slot.attempts = attempts;
    slot.durationMs = durationMs;
  };
  const skip = (slot: Slot, why: SkipReason) => {
    bus.emit({ type: 'service.skipped', service: slot.service.name, stage: slot.service.stage, why });
    finish(slot, 'skipped');
  };
  const block = (failed: string) => {
    const todo = [...(dependents.get(failed) ?? [])];
    for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
      const slot = slots.get(name)!;
      if (slot.state === 'done' || slot.state === 'running') continue;
      // A computed wave overlaps the others: it opens with the first of its services to settle.
      // A later declared stage opens in its turn, its blocked services already settled.
      if (plan.stages[stageIndex.get(slot.service.stage)!]?.computed) openStage(slot.service.stage);
      bus.emit({ type: 'service.blocked', service: name, stage: slot.service.stage, by: failed });
      finish(slot, 'blocked');
      todo.push(...(dependents.get(name) ?? []));
    }
  };
  const isUp = (name: string) => {
    const result = slots.get(name)?.result;
    // A dependency outside this run (left out by --only) cannot be: selection includes dependencies.
    return result === 'healthy' || result === 'already-healthy';
  };

  // A stage's `stage.started` goes out before the first event of any of its services, and its
  // `stage.finished` once all of them are settled: computed waves overlap (SPEC section 2,
  // Stages), so a wave starts when its first service does, not when the wave before it ends.
  const opened = new Set<string>();
  const closed = new Set<string>();
  const openStage = (name: string) => {
    if (opened.has(name)) return;
    opened.add(name);
    const index = stageIndex.get(name)!;
    const stage = plan.stages[index]!;
    bus.emit({
      type: 'stage.started',
      stage: stage.name,
      index: index + 1,
      count: plan.stages.length,
      services: stage.services,
    });
  };
  const closeStage = (stage: ResolvedStage) => {
    if (closed.has(stage.name) || !opened.has(stage.name)) return;
    if (!stage.services.every((name) => slots.get(name)!.state === 'done')) return;
    closed.add(stage.name);
    const results = stage.services.map((name) => slots.get(name)!.result);
    const stageResult = options.signal.aborted
      ? 'interrupted'
      : halted
        ? 'halted'
        : results.every((r) => r === 'healthy' || r === 'already-healthy')
          ? 'succeeded'
          : 'failed';
    bus.emit({ type: 'stage.finished', stage: stage.name, result: stageResult });
  };

  /**
   * Runs a group of stages that start together: one declared stage (a barrier), or all the
   * computed waves of a plan without declared stages, which are groups for reading only.
   */
  const runGroup = (group: ResolvedStage[]): Promise<void> =>
    new Promise((resolveGroup) => {
      const members = group.flatMap((stage) => stage.services.map((name) => slots.get(name)!));
      const cap =
        group.length === 1 ? (group[0]!.concurrency ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY;
      const queue = new PQueue({ concurrency: Math.min(cap, options.concurrency) });
      const settle = () => {
        for (const stage of group) closeStage(stage);
        if (members.every((slot) => slot.state === 'done')) {
          options.signal.removeEventListener('abort', dispatch);
          resolveGroup();
        }
      };
      const dispatch = () => {
        // A wave whose services are all settled closes before the next services start.
        for (const stage of group) closeStage(stage);
        for (const slot of members) {
          if (slot.state !== 'pending') continue;
          if (options.signal.aborted) {
            openStage(slot.service.stage);
            skip(slot, 'interrupted');
          } else if (halted) {
            openStage(slot.service.stage);
            skip(slot, 'halted');
          } else if (slot.service.depends_on.every(isUp) && !hostFull(slot.service)) {
            openStage(slot.service.stage);
            slot.state = 'queued';
            hostCount(slot.service, 1);
            void queue.add(() => work(slot));
          }
        }
        settle();
      };
      const work = async (slot: Slot) => {
        // Conditions may have changed while it waited for a free slot.
        if (options.signal.aborted || halted) {
          skip(slot, options.signal.aborted ? 'interrupted' : 'halted');
          hostCount(slot.service, -1);
          dispatch();
          return;
        }
        slot.state = 'running';
        const outcome = await options.restore(slot.service);
        if (outcome.result === 'interrupted') {
          skip(slot, 'interrupted');
        } else {
          finish(slot, outcome.result, outcome.attempts, outcome.durationMs);
          if (outcome.result === 'healthy') healthyOrder.push(slot.service.name);
          if (outcome.result === 'failed') {
            slot.reason = outcome.message;
            block(slot.service.name);
            if (slot.service.critical) halted = true;
          }
        }
        hostCount(slot.service, -1);
        dispatch();
      };
      options.signal.addEventListener('abort', dispatch, { once: true });
      dispatch();
    });

  for (const group of barrierGroups(plan.stages)) {
    const pending = group
      .flatMap((stage) => stage.services)
      .map((name) => slots.get(name)!)
      .filter((slot) => slot.state === 'pending');
    if (options.signal.aborted || halted || awaiting !== undefined) {
      const why: SkipReason = options.signal.aborted ? 'interrupted' : 'halted';
      for (const slot of pending) {
        if (awaiting !== undefined) finish(slot, 'skipped');
        else skip(slot, why);
      }
      continue;
    }
    const stage = group[0]!;
    if (group.length === 1 && stage.approval && pending.length > 0 && !(await options.approve(stage))) {
      awaiting = stage.name;
      bus.emit({ type: 'run.awaiting-approval', stage: stage.name, services: pending.length });
      for (const slot of pending) finish(slot, 'skipped');
      continue;
    }
    // A declared stage opens at once, empty of pending work or not, as it always has.
    if (group.length === 1) openStage(stage.name);
    await runGroup(group);
  }

  const services: Record<string, ServiceSummary> = {};
  for (const [name, slot] of slots) {
    services[name] = {
      stage: slot.service.stage,
      result: slot.result ?? 'skipped',
      attempts: slot.attempts,
      duration_ms: slot.durationMs,
      ...(slot.reason !== undefined ? { reason: slot.reason } : {}),
    };
  }
  const anyFailed = Object.values(services).some((s) => s.result === 'failed' || s.result === 'blocked');
  const result: RunResult = options.signal.aborted
    ? 'interrupted'
    : anyFailed
      ? 'failed'
      : awaiting !== undefined
        ? 'awaiting-approval'
        : 'succeeded';
  return {
    result,
    halted,
    healthyOrder,
    ...(awaiting !== undefined && result === 'awaiting-approval' ? { awaiting } : {}),
    services,
  };
}
