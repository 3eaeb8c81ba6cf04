import type { ResolvedHealth } from '../../plan/model.js';
import type { Place } from '../places/place.js';
import type { OutputWatch } from '../probes/log.js';
import { probeRound } from '../probes/round.js';
import type { RoundResult } from '../probes/types.js';
import { sleep } from './sleep.js';

export interface VerifyOptions {
  health: ResolvedHealth;
  /** Where the service's exec checks run. */
  place: Place;
  /** When the start command succeeded (epoch ms): start_period counts from here. */
  startedAt: number;
  /** The service's deadline (epoch ms). */
  deadline: number;
  signal: AbortSignal;
  /** Resolves if the service's daemon exits: verification ends at once. */
  exited?: Promise<{ exitCode: number | null; signal: string | null }>;
  onRound: (round: number, result: RoundResult, counted: boolean) => void;
  /** The output of the start attempt being verified, for `log` checks. */
  output?: OutputWatch;
}

export type VerifyOutcome =
  | { kind: 'healthy'; rounds: number }
  | { kind: 'unhealthy'; rounds: number; last: RoundResult }
  | { kind: 'deadline'; rounds: number; last: RoundResult | undefined }
  | { kind: 'daemon-exited'; rounds: number; exitCode: number | null; signal: string | null }
  | { kind: 'interrupted'; rounds: number };

/**
 * Probe rounds after a start, as SPEC section 2 ("Timing") says: the first round at once; until
 * one passes, the gap starts at `start_interval` and doubles up to `interval`; after that, every
 * `interval`. Failed rounds inside `start_period` do not count. Healthy after `success_threshold`
 * passing rounds in a row; failed after `retries` counted failing rounds in a row, at the
 * deadline, or as soon as the daemon exits, whichever comes first.
 */
export async function verifyHealth(options: VerifyOptions): Promise<VerifyOutcome> {
  const { health } = options;
  if (health.checks.length === 0) return { kind: 'healthy', rounds: 0 };

  const stop = new AbortController();
  let exit: { exitCode: number | null; signal: string | null } | undefined;
  const deadlineTimer = setTimeout(() => stop.abort('deadline'), Math.max(0, options.deadline - Date.now()));
  const onAbort = () => stop.abort('interrupted');
  options.signal.addEventListener('abort', onAbort, { once: true });
  if (options.signal.aborted) stop.abort('interrupted');
  void options.exited?.then((info) => {
    exit = info;
    stop.abort('exited');
  });

  let rounds = 0;
  let last: RoundResult | undefined;
  const ended = (): VerifyOutcome => {
    switch (stop.signal.reason) {
      case 'exited':
        return {
          kind: 'daemon-exited',
          rounds,
          exitCode: exit?.exitCode ?? null,
          signal: exit?.signal ?? null,
        };
      case 'deadline':
        return { kind: 'deadline', rounds, last };
      default:
        return { kind: 'interrupted', rounds };
    }
  };

  try {
    let gap = health.start_interval_ms;
    let passedOnce = false;
    let passing = 0;
    let failing = 0;
    for (;;) {
      if (stop.signal.aborted) return ended();
      const result = await probeRound(health.checks, {
        timeoutMs: health.timeout_ms,
        place: options.place,
        signal: stop.signal,
        ...(options.output ? { output: options.output } : {}),
      });
      if (stop.signal.aborted) return ended();
      rounds += 1;
      last = result;
      const counted = result.ok || Date.now() - options.startedAt >= health.start_period_ms;
      options.onRound(rounds, result, counted);
      if (result.ok) {
        passedOnce = true;
        failing = 0;
        passing += 1;
        if (passing >= health.success_threshold) return { kind: 'healthy', rounds };
      } else {
        passing = 0;
        if (counted) failing += 1;
        if (failing >= health.retries) return { kind: 'unhealthy', rounds, last: result };
      }
      const wait = passedOnce ? health.interval_ms : gap;
      if (!passedOnce) gap = Math.min(gap * 2, health.interval_ms);
      await sleep(wait, stop.signal);
    }
  } finally {
    clearTimeout(deadlineTimer);
    options.signal.removeEventListener('abort', onAbort);
  }
}
