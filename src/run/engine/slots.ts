import {
  dependencyOn,
  type ResolvedPlan,
  type ResolvedService,
  type ResolvedStage,
} from '../../plan/model.js';
import type { EventBus, ServiceResult, ServiceSummary, ServiceWarning, SkipReason } from '../events.js';
import type { ServiceOutcome } from './service-context.js';

/** Where a service stands in the run: waiting, queued for a free slot, running, or settled. */
export interface Slot {
  service: ResolvedService;
  state: 'pending' | 'queued' | 'running' | 'done';
  result?: ServiceResult;
  attempts: number;
  durationMs: number;
  /** Why it failed, in words. */
  reason?: string;
}

/** Why nothing new starts: the run was interrupted, or a critical service failed. */
export type StopReason = Exclude<SkipReason, 'not-selected'>;

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
 * The scheduler's books: a slot per service of the run, who depends on whom, how many services
 * of each capped host are in flight, and which stages have opened and closed. What it settles it
 * tells as events (`stage.started`, `stage.finished`, `service.skipped`, `service.blocked`); what
 * to start when is the scheduler's to decide.
 */
export class Slots {
  readonly #plan: ResolvedPlan;
  readonly #bus: EventBus;
  readonly #concurrency: number;
  readonly #hostCaps: ReadonlyMap<string, number> | undefined;
  readonly #slots = new Map<string, Slot>();
  readonly #dependents = new Map<string, string[]>();
  readonly #stageIndex: Map<string, number>;
  // Services of each capped host queued or running. A service whose host is full is not queued
  // at all, so it never holds a stage slot that another host's service could use.
  readonly #hostBusy = new Map<string, number>();
  /** Services whose start command has succeeded in this run (a `started` condition waits for that). */
  readonly #started = new Set<string>();
  /** Failures of critical services so far, by stage, against its `max_failures`. */
  readonly #failures = new Map<string, number>();
  readonly #opened = new Set<string>();
  readonly #closed = new Set<string>();
  /** Services this run brought up, in the order they became healthy. */
  readonly healthyOrder: string[] = [];

  constructor(
    plan: ResolvedPlan,
    bus: EventBus,
    caps: { concurrency: number; hosts?: ReadonlyMap<string, number> | undefined },
  ) {
    this.#plan = plan;
    this.#bus = bus;
    this.#concurrency = caps.concurrency;
    this.#hostCaps = caps.hosts;
    for (const stage of plan.stages) {
      for (const name of stage.services) {
        this.#slots.set(name, {
          service: plan.services[name]!,
          state: 'pending',
          attempts: 0,
          durationMs: 0,
        });
      }
    }
    for (const slot of this.#slots.values()) {
      for (const dep of slot.service.depends_on) {
        if (!this.#slots.has(dep)) continue;
        const list = this.#dependents.get(dep);
        if (list) list.push(slot.service.name);
        else this.#dependents.set(dep, [slot.service.name]);
      }
    }
    this.#stageIndex = new Map(plan.stages.map((stage, index) => [stage.name, index]));
  }

  /** The slots of a group's services, in stage and start order. */
  members(group: readonly ResolvedStage[]): Slot[] {
    return group.flatMap((stage) => stage.services.map((name) => this.#slots.get(name)!));
  }

  /** How many of a group's services run at once: a declared stage's cap within the global one. */
  concurrency(group: readonly ResolvedStage[]): number {
    const cap =
      group.length === 1 ? (group[0]!.concurrency ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY;
    return Math.min(cap, this.#concurrency);
  }

  /**
   * Whether a pending service may be queued: each dependency meets its condition (or, optional,
   * has failed or is blocked) and its host has room.
   */
  ready(slot: Slot): boolean {
    return (
      slot.service.depends_on.every((name) => this.#satisfied(slot.service, name)) &&
      !this.#hostFull(slot.service)
    );
  }

  /**
   * Queued for a free slot: it counts against its host's cap until released. An optional
   * dependency that failed or is blocked is said now (`service.warning`), as the service goes anyway.
   */
  take(slot: Slot): void {
    slot.state = 'queued';
    this.#hostCount(slot.service, 1);
    for (const dep of slot.service.dependencies ?? []) {
      const result = dep.required ? undefined : this.#slots.get(dep.service)?.result;
      if (result !== 'failed' && result !== 'blocked') continue;
      this.#warn(
        slot,
        result === 'failed' ? 'optional-dependency-failed' : 'optional-dependency-blocked',
        dep.service,
        `starts although its optional dependency ${dep.service} ${result === 'failed' ? 'failed' : 'is blocked'} (required: false)`,
      );
    }
  }

  /**
   * A service's start command succeeded (a daemon spawned, a one-shot exited 0). Whether a
   * pending service waits for just that (`condition: started`), so that it is worth looking again.
   */
  markStarted(name: string): boolean {
    if (this.#started.has(name) || !this.#slots.has(name)) return false;
    this.#started.add(name);
    return (this.#dependents.get(name) ?? []).some((dependent) => {
      const slot = this.#slots.get(dependent)!;
      return slot.state === 'pending' && dependencyOn(slot.service, name).condition === 'started';
    });
  }

  /**
   * Whether a failure halts the run (SPEC sections 4 and 11): a critical service's does, unless
   * its stage's `max_failures` still tolerates it, as a non-critical one is (its dependents are
   * blocked all the same). A non-critical failure never halts and does not count against the
   * budget: `critical: false` already says the run goes on without it.
   */
  halts(slot: Slot): boolean {
    const { service } = slot;
    if (!service.critical) return false;
    const stage = this.#plan.stages[this.#stageIndex.get(service.stage)!];
    const budget = stage?.max_failures;
    const used = (this.#failures.get(service.stage) ?? 0) + 1;
    this.#failures.set(service.stage, used);
    if (!budget || used > budget.count) return true;
    this.#warn(
      slot,
      'failure-tolerated',
      null,
      `failure ${used} of the ${budget.count} stage ${service.stage} tolerates (max_failures: ${budget.written}); the run goes on`,
    );
    return false;
  }

  /** Its turn came: it runs. */
  start(slot: Slot): void {
    slot.state = 'running';
  }

  /** Out of its host's count again, whatever became of it. */
  release(slot: Slot): void {
    this.#hostCount(slot.service, -1);
  }

  /** Records what became of a service that ran; a failure blocks all that depends on it. */
  settle(slot: Slot, outcome: Exclude<ServiceOutcome, { result: 'interrupted' }>): void {
    this.#finish(slot, outcome.result, outcome.attempts, outcome.durationMs);
    if (outcome.result === 'healthy') this.healthyOrder.push(slot.service.name);
    if (outcome.result === 'failed') {
      slot.reason = outcome.message;
      this.#startedAndFailed(slot.service.name);
      this.#block(slot.service.name);
    }
  }

  /** Skipped, and said so (`service.skipped`). */
  skip(slot: Slot, why: SkipReason): void {
    this.#bus.emit({ type: 'service.skipped', service: slot.service.name, stage: slot.service.stage, why });
    this.#finish(slot, 'skipped');
  }

  /** Skipped without a word: the run stopped before its stage for an approval. */
  leave(slot: Slot): void {
    this.#finish(slot, 'skipped');
  }

  /**
   * A stage's `stage.started` goes out before the first event of any of its services, and its
   * `stage.finished` once all of them are settled: computed waves overlap (SPEC section 2,
   * Stages), so a wave starts when its first service does, not when the wave before it ends.
   */
  openStage(name: string): void {
    if (this.#opened.has(name)) return;
    this.#opened.add(name);
    const index = this.#stageIndex.get(name)!;
    const stage = this.#plan.stages[index]!;
    this.#bus.emit({
      type: 'stage.started',
      stage: stage.name,
      index: index + 1,
      count: this.#plan.stages.length,
      services: stage.services,
    });
  }

  /** Closes an open stage whose services have all settled; `stopped`: why the run stopped, if it did. */
  closeStage(stage: ResolvedStage, stopped: StopReason | undefined): void {
    if (this.#closed.has(stage.name) || !this.#opened.has(stage.name)) return;
    if (!stage.services.every((name) => this.#slots.get(name)!.state === 'done')) return;
    this.#closed.add(stage.name);
    const results = stage.services.map((name) => this.#slots.get(name)!.result);
    const result =
      stopped ?? (results.every((r) => r === 'healthy' || r === 'already-healthy') ? 'succeeded' : 'failed');
    this.#bus.emit({ type: 'stage.finished', stage: stage.name, result });
  }

  /** Every service's line of the summary; one never reached is skipped. */
  summaries(): Record<string, ServiceSummary> {
    const services: Record<string, ServiceSummary> = {};
    for (const [name, slot] of this.#slots) {
      services[name] = {
        stage: slot.service.stage,
        result: slot.result ?? 'skipped',
        attempts: slot.attempts,
        duration_ms: slot.durationMs,
        ...(slot.reason !== undefined ? { reason: slot.reason } : {}),
      };
    }
    return services;
  }

  #finish(slot: Slot, result: ServiceResult, attempts = 0, durationMs = 0): void {
    slot.state = 'done';
    slot.result = result;
    slot.attempts = attempts;
    slot.durationMs = durationMs;
  }

  /**
   * A failed or blocked service blocks what requires it, and so on down. A dependent that holds
   * it optional (`required: false`) is not blocked: it goes with a warning in its turn. One that
   * waited only until it `started` and is running is not stopped (SPEC section 11); one still
   * queued for a free slot has not started, and is blocked.
   */
  #block(failed: string): void {
    const todo = (this.#dependents.get(failed) ?? []).map((name) => ({ name, of: failed }));
    for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
      const { name } = next;
      const slot = this.#slots.get(name)!;
      if (slot.state === 'done' || slot.state === 'running') continue;
      if (!dependencyOn(slot.service, next.of).required) continue;
      // A computed wave overlaps the others: it opens with the first of its services to settle.
      // A later declared stage opens in its turn, its blocked services already settled.
      if (this.#plan.stages[this.#stageIndex.get(slot.service.stage)!]?.computed)
        this.openStage(slot.service.stage);
      this.#bus.emit({ type: 'service.blocked', service: name, stage: slot.service.stage, by: failed });
      this.#finish(slot, 'blocked');
      for (const dependent of this.#dependents.get(name) ?? []) todo.push({ name: dependent, of: name });
    }
  }

  /** Services that went once `failed` had started, and are running or done: each is told, not stopped. */
  #startedAndFailed(failed: string): void {
    for (const name of this.#dependents.get(failed) ?? []) {
      const slot = this.#slots.get(name)!;
      const went = slot.state === 'running' || slot.result === 'healthy' || slot.result === 'failed';
      if (!went) continue;
      if (dependencyOn(slot.service, failed).condition !== 'started') continue;
      this.#warn(
        slot,
        'started-dependency-failed',
        failed,
        `${failed}, which it waited for only until it started, failed after it had gone; it is not stopped`,
      );
    }
  }

  #warn(slot: Slot, cause: ServiceWarning['cause'], dependency: string | null, message: string): void {
    const { name, stage } = slot.service;
    this.#bus.emit({ type: 'service.warning', service: name, stage, cause, dependency, message });
  }

  /** Whether `name` is as far as `service` needs it before it starts (SPEC section 11). */
  #satisfied(service: ResolvedService, name: string): boolean {
    const result = this.#slots.get(name)?.result;
    // A dependency outside this run (left out by --only) cannot be: selection includes dependencies.
    if (result === 'healthy' || result === 'already-healthy') return true;
    const dep = dependencyOn(service, name);
    if (result === 'failed' || result === 'blocked') return !dep.required;
    return dep.condition === 'started' && result === undefined && this.#started.has(name);
  }

  #hostFull(service: ResolvedService): boolean {
    const cap = service.host === null ? undefined : this.#hostCaps?.get(service.host);
    return cap !== undefined && (this.#hostBusy.get(service.host!) ?? 0) >= cap;
  }

  #hostCount(service: ResolvedService, delta: number): void {
    if (service.host !== null)
      this.#hostBusy.set(service.host, (this.#hostBusy.get(service.host) ?? 0) + delta);
  }
}
