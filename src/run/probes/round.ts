import type { ResolvedCheck } from '../../plan/model.js';
import { unreachable } from '../../util/unreachable.js';
import type { Place } from '../places/place.js';
import { dnsCheck } from './dns.js';
import { grpcCheck } from './grpc.js';
import { httpCheck } from './http.js';
import { tcpCheck } from './tcp.js';
import { tlsCheck } from './tls.js';
import type { CheckResult, RoundResult } from './types.js';

export interface RoundOptions {
  /** Deadline of each check. */
  timeoutMs: number;
  /** Where the service's exec checks run: here, or on its host (SPEC section 6). */
  place: Place;
  signal?: AbortSignal;
}

/** One probe round: every check of a service at once; it passes when all pass. */
export async function probeRound(
  checks: readonly ResolvedCheck[],
  options: RoundOptions,
): Promise<RoundResult> {
  const started = performance.now();
  const results = await Promise.all(checks.map((check) => runCheck(check, options)));
  return {
    ok: results.every((r) => r.ok),
    checks: results,
    durationMs: Math.round(performance.now() - started),
  };
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
    default:
      return unreachable(check);
  }
}
