import type { ResolvedCheck } from '../../plan/model.js';
import { unreachable } from '../../util/unreachable.js';
import type { Place } from '../places/place.js';
import { dnsCheck } from './dns.js';
import { grpcCheck } from './grpc.js';
import { httpCheck } from './http.js';
import { logUnreadable, type OutputWatch } from './log.js';
import { postgresCheck } from './postgres.js';
import { redisCheck } from './redis.js';
import { tcpCheck } from './tcp.js';
import { tlsCheck } from './tls.js';
import type { CheckResult, RoundResult } from './types.js';

export interface RoundOptions {
  /** Deadline of each check. */
  timeoutMs: number;
  /** Where the service's exec checks run: here, or on its host (SPEC section 6). */
  place: Place;
  signal?: AbortSignal;
  /**
   * What `log` checks read: the output of the service's current start attempt. Without it (the
   * round before a start, plan --live, a resumed run's look) there is no output of this run.
   */
  output?: OutputWatch;
}

/** One probe round: every check of a service at once; it passes when all pass. */
export async function probeRound(
  checks: readonly ResolvedCheck[],
  options: RoundOptions,
): Promise<RoundResult> {
  const started = performance.now();
  await options.output?.refresh();
  const results = await Promise.all(answerable(checks, options).map((check) => runCheck(check, options)));
  return {
    ok: results.every((r) => r.ok),
    checks: results,
    durationMs: Math.round(performance.now() - started),
  };
}

/**
 * The checks a round can answer. Without output of this run, `log` checks are left out when the
 * service has others, which then say whether it is already healthy (a running postgres is not
 * started again for want of a ready line it printed long ago); a service with only `log` checks
 * keeps them, and fails the round, so it is started.
 */
function answerable(checks: readonly ResolvedCheck[], options: RoundOptions): readonly ResolvedCheck[] {
  if (options.output !== undefined) return checks;
  const others = checks.filter((check) => check.kind !== 'log');
  return others.length > 0 ? others : checks;
}

function runCheck(check: ResolvedCheck, options: RoundOptions): Promise<CheckResult> {
  const limits = { timeoutMs: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) };
  switch (check.kind) {
    // Network checks go from this machine, as a user's request would.
    case 'http':
      return httpCheck(check, limits);
    case 'tcp':
      return tcpCheck(check, limits);
    case 'grpc':
      return grpcCheck(check, limits);
    case 'tls':
      // A relative `ca` is the plan directory's on this machine, wherever the service runs.
      return tlsCheck(check, { ...limits, planDir: options.place.localDir });
    case 'dns':
      return dnsCheck(check, limits);
    case 'exec':
      return options.place.check(check.command, options.timeoutMs, options.signal);
    case 'postgres':
      return postgresCheck(check, limits);
    case 'redis':
      return redisCheck(check, limits);
    case 'log':
      return Promise.resolve(
        options.output?.result(check) ??
          logUnreadable(check, 'no output of this run to read: the service was not started by it'),
      );
    default:
      return unreachable(check);
  }
}
