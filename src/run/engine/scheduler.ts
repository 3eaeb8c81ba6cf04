import PQueue from 'p-queue';
import type { ResolvedPlan, ResolvedService, ResolvedStage } from '../../plan/model.js';
import type { EventBus, RunResult, ServiceSummary } from '../events.js';
import type { ServiceOutcome } from './service-context.js';
import { barrierGroups, type Slot, Slots, type StopReason } from './slots.js';

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

/** One run of the scheduler: its books, and whether it stopped. */
interface Run {
  options: SchedulerOptions;
  slots: Slots;
  halted: boolean;
  /** The stage the run stopped before, for its approval. */
  awaiting: string | undefined;
  /** Looks again for services to start, in the group that runs now. */
  wake: (() => void) | undefined;
}

/**
 * Runs the declared stages strictly in order (SPEC section 4, steps 3, 4 and 7). Inside a stage a service
 * is queued the moment all its dependencies meet their condition (healthy, or for `started` its
 * start command succeeded; an optional one may also have failed), in start order, and starts within
 * the stage's and the global concurrency caps. A failure blocks everything that requires the failed
 * service; a critical failure beyond its stage's `max_failures` halts the run: nothing new starts
 * anywhere, what is in flight finishes, later stages are skipped.
 */
export async function runStages(plan: ResolvedPlan, options: SchedulerOptions): Promise<SchedulerOutcome> {
  const slots = new Slots(plan, options.bus, { concurrency: options.concurrency, hosts: options.hostCaps });
  const run: Run = { options, slots, halted: false, awaiting: undefined, wake: undefined };
  // A `condition: started` dependent goes once its dependency's start command succeeded, while
  // that dependency is still being checked (SPEC section 11). The attempt's event says so; the
  // look comes after the event has reached every subscriber, the journal first among them.
  options.bus.subscribe((event) => {
    if (event.type === 'service.attempt' && event.ok && slots.markStarted(event.service))
      queueMicrotask(() => run.wake?.());
  });
  for (const group of barrierGroups(plan.stages)) {
    const pending = slots.members(group).filter((slot) => slot.state === 'pending');
    if (stopped(run) !== undefined || run.awaiting !== undefined) passOver(run, pending);
    else if (!(await approved(run, group, pending))) stopForApproval(run, group[0]!, pending);
    else {
      // A declared stage opens at once, empty of pending work or not, as it always has.
      if (group.length === 1) slots.openStage(group[0]!.name);
      await runGroup(run, group);
    }
  }
  return outcome(run);
}

/** Why nothing new starts, if that is so. */
function stopped(run: Run): StopReason | undefined {
  return run.options.signal.aborted ? 'interrupted' : run.halted ? 'halted' : undefined;
}

/** A group after the run stopped: its services skipped, silently when it waits for an approval. */
function passOver(run: Run, pending: readonly Slot[]): void {
  const why = run.options.signal.aborted ? 'interrupted' : 'halted';
  for (const slot of pending) {
    if (run.awaiting !== undefined) run.slots.leave(slot);
    else run.slots.skip(slot, why);
  }
}

/** Whether a group may start: only a declared stage with work left asks for an approval. */
async function approved(
  run: Run,
  group: readonly ResolvedStage[],
  pending: readonly Slot[],
): Promise<boolean> {
  const stage = group[0]!;
  if (group.length !== 1 || !stage.approval || pending.length === 0) return true;
  return run.options.approve(stage);
}

function stopForApproval(run: Run, stage: ResolvedStage, pending: readonly Slot[]): void {
  run.awaiting = stage.name;
  run.options.bus.emit({ type: 'run.awaiting-approval', stage: stage.name, services: pending.length });
  for (const slot of pending) run.slots.leave(slot);
}

/**
 * Runs a group of stages that start together: one declared stage (a barrier), or all the
 * computed waves of a plan without declared stages, which are groups for reading only.
 */
function runGroup(run: Run, group: readonly ResolvedStage[]): Promise<void> {
  const { options, slots } = run;
  const members = slots.members(group);
  const queue = new PQueue({ concurrency: slots.concurrency(group) });
  return new Promise((resolveGroup) => {
    const closeStages = () => {
      for (const stage of group) slots.closeStage(stage, stopped(run));
    };
    const dispatch = () => {
      // A wave whose services are all settled closes before the next services start.
      closeStages();
      for (const slot of members) {
        if (slot.state !== 'pending') continue;
        const stop = stopped(run);
        if (stop !== undefined) {
          slots.openStage(slot.service.stage);
          slots.skip(slot, stop);
        } else if (slots.ready(slot)) {
          slots.openStage(slot.service.stage);
          slots.take(slot);
          void queue.add(() => work(slot));
        }
      }
      closeStages();
      if (members.every((slot) => slot.state === 'done')) {
        options.signal.removeEventListener('abort', dispatch);
        run.wake = undefined;
        resolveGroup();
      }
    };
    const work = async (slot: Slot) => {
      // Conditions may have changed while it waited for a free slot.
      const stop = stopped(run);
      if (slot.state === 'done') {
        // Blocked while queued: a dependency it waited for only until `started` has failed since.
      } else if (stop !== undefined) {
        slots.skip(slot, stop);
      } else {
        slots.start(slot);
        const outcome = await options.restore(slot.service);
        if (outcome.result === 'interrupted') slots.skip(slot, 'interrupted');
        else {
          slots.settle(slot, outcome);
          if (outcome.result === 'failed' && slots.halts(slot)) run.halted = true;
        }
      }
      slots.release(slot);
      dispatch();
    };
    options.signal.addEventListener('abort', dispatch, { once: true });
    run.wake = dispatch;
    dispatch();
  });
}

function outcome(run: Run): SchedulerOutcome {
  const { awaiting, halted, slots } = run;
  const services = slots.summaries();
  const anyFailed = Object.values(services).some((s) => s.result === 'failed' || s.result === 'blocked');
  const result: RunResult = run.options.signal.aborted
    ? 'interrupted'
    : anyFailed
      ? 'failed'
      : awaiting !== undefined
        ? 'awaiting-approval'
        : 'succeeded';
  return {
    result,
    halted,
    healthyOrder: slots.healthyOrder,
    ...(awaiting !== undefined && result === 'awaiting-approval' ? { awaiting } : {}),
    services,
  };
}
