import type { ResolvedService } from '../plan/model.js';
import { isAlive, terminateGroup } from './executor/process-group.js';
import { livePidFrom } from './pid-file.js';
import type { ServiceContext, ServiceOutcome } from './service-runner.js';
import { servicePid } from './state-dir.js';
import { verifyHealth } from './verify.js';

/**
 * On resume, a daemon that was starting when restore died may still be running. It is adopted:
 * verified as if just started, rather than started a second time next to itself (it would meet
 * itself on its port). Undefined when there is nothing to adopt; if the adopted daemon does not
 * become healthy, it is stopped and the caller starts the service afresh.
 */
export async function adoptDaemon(
  service: ResolvedService,
  attempts: number,
  context: ServiceContext,
): Promise<ServiceOutcome | undefined> {
  // Remote daemons keep their pid files on their host; they are started afresh (see README).
  if (!service.start?.daemon || service.host !== null) return undefined;
  const pid = livePidFrom(servicePid(context.state, service.name));
  if (pid === undefined) return undefined;
  const started = Date.now();
  const base = { service: service.name, stage: service.stage };
  const watching = new AbortController();
  const exited = new Promise<{ exitCode: number | null; signal: string | null }>((resolve) => {
    const timer = setInterval(() => {
      if (!isAlive(pid)) resolve({ exitCode: null, signal: null });
    }, 100);
    watching.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  });
  try {
    const outcome = await verifyHealth({
      health: service.health,
      planDir: context.planDir,
      startedAt: started,
      deadline: started + service.timeout_ms,
      signal: context.signal,
      exited,
      onRound: (round, result, counted) =>
        context.bus.emit({
          type: 'service.probe',
          ...base,
          phase: 'verify',
          round,
          ok: result.ok,
          counted,
          checks: result.checks,
        }),
    });
    if (outcome.kind === 'healthy') {
      const duration = Date.now() - started;
      context.bus.emit({
        type: 'service.healthy',
        ...base,
        attempts,
        rounds: outcome.rounds,
        duration_ms: duration,
        pid,
        resumed: true,
      });
      return { result: 'healthy', attempts, durationMs: duration, pid };
    }
    if (outcome.kind === 'interrupted')
      return { result: 'interrupted', attempts, durationMs: Date.now() - started };
    await terminateGroup(pid, 10_000);
    return undefined;
  } finally {
    watching.abort();
  }
}
