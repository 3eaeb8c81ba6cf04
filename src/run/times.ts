import type { RunEventType } from './events.js';

/**
 * One truth for the times of a run: every duration that any output shows (the summary,
 * `run.finished`, the journal, `status`, `report` in every format) is computed here, once, from
 * the times the events were stamped with (the journal's `time`s), never from a clock read apart.
 *
 * - A service's span opens at its first step in a run segment: the start of its first probe round
 *   (the probe event's time minus the round's `duration_ms`) or its `service.starting`; it closes
 *   at `service.healthy`, `service.already-healthy` or `service.failed`. A service interrupted in
 *   flight closes at the end of the run. A service confirmed healthy after `--resume` without
 *   being restarted keeps the span it had before.
 * - The run's duration is wall time, from `run.started` to the latest `run.finished` (a resumed
 *   run counts the time it stood stopped: it is how long the restoration took).
 */

/** What the fold reads of an event or journal line: its name, time and a few fields. */
export interface TimedStep {
  /** An event name: a renamed event is then a compile error in the cases below, not a lost span. */
  type: RunEventType;
  /** Epoch milliseconds. */
  time: number;
  service?: string;
  duration_ms?: number;
  phase?: string;
}

/** What a run's times are known from before this process (a resumed run's journal). */
export interface RunTimesSeed {
  started: number;
  services: Record<string, number>;
}

export class RunTimes {
  #started: number | undefined;
  #last: number | undefined;
  #finished: number | undefined;
  readonly #open = new Map<string, number>();
  readonly #durations = new Map<string, number>();

  constructor(seed?: RunTimesSeed) {
    if (!seed) return;
    this.#started = seed.started;
    for (const [name, ms] of Object.entries(seed.services)) this.#durations.set(name, ms);
  }

  /** Folds one step in; returns the service's duration when the step ends its span. */
  add(step: TimedStep): number | undefined {
    this.#last = step.time;
    switch (step.type) {
      case 'run.started':
        this.#started ??= step.time;
        return undefined;
      case 'run.resumed':
        // Spans left open by the process that stopped do not continue: what runs again starts anew.
        this.#started ??= step.time;
        this.#open.clear();
        this.#finished = undefined;
        return undefined;
      case 'service.probe':
      case 'service.starting': {
        const name = step.service ?? '';
        if (!this.#open.has(name)) {
          const opened =
            step.type === 'service.probe' ? step.time - Math.max(0, step.duration_ms ?? 0) : step.time;
          this.#open.set(name, opened);
        }
        return undefined;
      }
      case 'service.healthy':
      case 'service.already-healthy':
      case 'service.failed':
        return this.#close(step.service ?? '', step.time);
      case 'service.blocked':
        this.#durations.set(step.service ?? '', 0);
        this.#open.delete(step.service ?? '');
        return 0;
      case 'run.interrupted':
      case 'run.finished':
        for (const name of [...this.#open.keys()]) this.#close(name, step.time);
        if (step.type === 'run.finished') this.#finished = step.time;
        return undefined;
      default:
        return undefined;
    }
  }

  #close(name: string, time: number): number {
    const opened = this.#open.get(name);
    this.#open.delete(name);
    // Confirmed without a new step (resume): the span recorded before holds.
    const ms = opened === undefined ? (this.#durations.get(name) ?? 0) : Math.max(0, time - opened);
    this.#durations.set(name, ms);
    return ms;
  }

  /** A service's duration so far: 0 until its span closes. */
  service(name: string): number {
    return this.#durations.get(name) ?? 0;
  }

  /** The run's wall time: to its latest `run.finished`, else to its last step. */
  run(): number {
    if (this.#started === undefined) return 0;
    return Math.max(0, (this.#finished ?? this.#last ?? this.#started) - this.#started);
  }

  /** The run's wall time if it ended at `time`. */
  runUntil(time: number): number {
    return this.#started === undefined ? 0 : Math.max(0, time - this.#started);
  }
}
