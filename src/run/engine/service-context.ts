import type { EventBus, FailureReason, ServiceProbe } from '../events.js';
import type { Places } from '../places/places.js';
import type { RoundResult } from '../probes/types.js';

/** What restoring a service needs from the run around it. */
export interface ServiceContext {
  bus: EventBus;
  /** Where each service's commands run. */
  places: Places;
  /** Aborts when the run is interrupted. */
  signal: AbortSignal;
  /** Secret values: kept out of failure messages. */
  secrets: readonly string[];
}

export type ServiceOutcome =
  | { result: 'healthy'; attempts: number; durationMs: number; pid: number | null }
  /** The run was interrupted while this service was in flight; the scheduler reports it skipped. */
  | { result: 'interrupted'; attempts: number; durationMs: number }
  | { result: 'already-healthy'; attempts: 0; durationMs: number }
  | { result: 'failed'; attempts: number; durationMs: number; reason: FailureReason; message: string };

/** Reports each probe round of a service as a `service.probe` event of the given phase. */
export function reportRound(
  bus: EventBus,
  base: { service: string; stage: string },
  phase: ServiceProbe['phase'],
): (round: number, result: RoundResult, counted: boolean) => void {
  return (round, result, counted) =>
    bus.emit({
      type: 'service.probe',
      ...base,
      phase,
      round,
      ok: result.ok,
      counted,
      checks: result.checks,
      duration_ms: result.durationMs,
    });
}

/** The failing checks of a round, in one line. */
export function describeRound(round: RoundResult): string {
  const failing = round.checks.filter((check) => !check.ok);
  return (failing.length > 0 ? failing : round.checks)
    .map((check) => `${check.kind} ${check.target}: ${check.detail}`)
    .join('; ');
}
