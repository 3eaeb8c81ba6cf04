import PQueue from 'p-queue';
import type { ResolvedPlan } from '../../plan/model.js';
import type { Places } from '../places/places.js';
import { probeRound } from '../probes/round.js';
import { describeRound } from './service-context.js';

/** What plan --live says of `log` checks, which only a run's output can answer. */
export const LOG_NOT_LIVE = 'log checks not probed live: they read the output of a run';

/** What `plan --live` found for a service: healthy (and so skipped by apply) or not, and why. */
export interface LiveStatus {
  healthy: boolean;
  /** False when the service has no checks, so there was nothing to probe. */
  probed: boolean;
  /** Whether `apply` would skip it: healthy and `skip_if_healthy`. */
  would_skip: boolean;
  detail: string;
  /** Why some checks were not probed: `log` checks read the output of a run (SPEC section 11). */
  note?: string;
}

/**
 * `plan --live` (SPEC section 3): one probe round per service, health checks only, never a start
 * command. Rounds run concurrently, a bounded number at a time.
 */
export async function probeLive(
  plan: ResolvedPlan,
  places: Places,
  concurrency = 16,
): Promise<Record<string, LiveStatus>> {
  const queue = new PQueue({ concurrency });
  const out: Record<string, LiveStatus> = {};
  await Promise.all(
    Object.values(plan.services).map((service) =>
      queue.add(async () => {
        if (service.health.checks.length === 0) {
          out[service.name] = { healthy: false, probed: false, would_skip: false, detail: 'no checks' };
          return;
        }
        const round = await probeRound(service.health.checks, {
          timeoutMs: service.health.timeout_ms,
          place: places.of(service),
        });
        const logs = service.health.checks.filter((check) => check.kind === 'log').length;
        out[service.name] = {
          healthy: round.ok,
          probed: true,
          would_skip: round.ok && service.skip_if_healthy,
          detail: describeRound(round),
          ...(logs > 0 ? { note: LOG_NOT_LIVE } : {}),
        };
      }),
    ),
  );
  return out;
}
