import type { ResolvedPlan, ResolvedService, ResolvedStage } from '../../plan/model.js';
import type { EventBus, ServiceResult, ServiceSummary, SkipReason } from '../events.js';
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

  /** Whether a pending service may be queued: its dependencies are up and its host has room. */
  ready(slot: Slot): boolean {
    return slot.service.depends_on.every((name) => this.#isUp(name)) && !this.#hostFull(slot.service);
  }

  /** Queued for a free slot: it counts against its host's cap until released. */
  take(slot: Slot): void {
    slot.state = 'queued';
    this.#hostCount(slot.service, 1);
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

  #block(failed: string): void {
    const todo = [...(this.#dependents.get(failed) ?? [])];
    for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
      const slot = this.#slots.get(name)!;
      if (slot.state === 'done' || slot.state === 'running') continue;
      // A computed wave overlaps the others: it opens with the first of its services to settle.
      // A later declared stage opens in its turn, its blocked services already settled.
      if (this.#plan.stages[this.#stageIndex.get(slot.service.stage)!]?.computed)
        this.openStage(slot.service.stage);
      this.#bus.emit({ type: 'service.blocked', service: name, stage: slot.service.stage, by: failed });
      this.#finish(slot, 'blocked');
      todo.push(...(this.#dependents.get(name) ?? []));
    }
  }

  #isUp(name: string): boolean {
    const result = this.#slots.get(name)?.result;
    // A dependency outside this run (left out by --only) cannot be: selection includes dependencies.
    return result === 'healthy' || result === 'already-healthy';
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
