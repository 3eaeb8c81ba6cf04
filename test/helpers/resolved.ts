import type { ResolvedCommand, ResolvedService } from '../../src/plan/model.js';

/** A command of a resolved plan: an argv run as it is, here, with no deadline of its own. */
export function command(argv: string[], extra: Partial<ResolvedCommand> = {}): ResolvedCommand {
  return { argv, shell: false, cwd: null, env: {}, timeout_ms: null, daemon: false, ...extra };
}

/**
 * A service of a resolved plan: nothing to start, no checks, a deadline of 1 s, quick rounds;
 * `extra` sets what the test is about.
 */
export function serviceOf(
  name: string,
  stage: string,
  extra: Partial<ResolvedService> = {},
): ResolvedService {
  return {
    name,
    host: null,
    stage,
    description: null,
    depends_on: [],
    critical: true,
    skip_if_healthy: true,
    timeout_ms: 1000,
    retries: 0,
    retry_delay_ms: 0,
    start: null,
    stop: null,
    health: {
      checks: [],
      interval_ms: 1,
      start_interval_ms: 1,
      timeout_ms: 1,
      start_period_ms: 0,
      retries: 1,
      success_threshold: 1,
    },
    verify: [],
    ...extra,
  };
}
