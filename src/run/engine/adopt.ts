import type { ResolvedService } from '../../plan/model.js';
import { KILL_GRACE_MS } from '../places/process/run-command.js';
import type { ServiceState } from '../state/journal/state.js';
import { reportRound, type ServiceContext, type ServiceOutcome } from './service-context.js';
import { sleep } from './sleep.js';
import { verifyHealth } from './verify.js';

/** SIGTERM to SIGKILL for an adopted daemon that does not become healthy. */
const STOP_GRACE_MS = 10_000;

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
  if (!service.start?.daemon) return undefined;
  const place = context.places.of(service);
  const pid = await place.daemonPid(service.name);
  if (pid === undefined || pid === null) return undefined;
  // Only `log` checks: whether it printed its ready line before restore died is not known (its
  // offset was not kept), and no other check can say. It is stopped and started afresh.
  const checks = service.health.checks;
  if (checks.length > 0 && checks.every((check) => check.kind === 'log')) {
    await place.stopDaemon(service.name, STOP_GRACE_MS);
    return undefined;
  }
  const started = Date.now();
  const base = { service: service.name, stage: service.stage };
  const watching = new AbortController();
  const exited = new Promise<{ exitCode: number | null; signal: string | null }>((resolve) => {
    const look = async () => {
      if (watching.signal.aborted) return;
      if (!(await place.daemonAlive(service.name, pid))) resolve({ exitCode: null, signal: null });
      else if (!watching.signal.aborted) timer = setTimeout(look, place.watchEveryMs);
    };
    let timer = setTimeout(look, place.watchEveryMs);
    watching.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  });
  try {
    const outcome = await verifyHealth({
      health: service.health,
      place,
      startedAt: started,
      deadline: started + service.timeout_ms,
      signal: context.signal,
      exited,
      onRound: reportRound(context.bus, base, 'verify'),
    });
    if (outcome.kind === 'healthy') {
      const duration = Date.now() - started;
      context.bus.emit({
        type: 'service.healthy',
        ...base,
        attempts,
        rounds: outcome.rounds,
        duration_ms: duration,
        service_pid: place.pidsAreLocal ? pid : null,
        resumed: true,
      });
      return { result: 'healthy', attempts, durationMs: duration, pid: place.pidsAreLocal ? pid : null };
    }
    if (outcome.kind === 'interrupted')
      return { result: 'interrupted', attempts, durationMs: Date.now() - started };
    await place.stopDaemon(service.name, STOP_GRACE_MS);
    return undefined;
  } finally {
    watching.abort();
  }
}

/** How often a one-shot of the interrupted run is looked for while it is waited for. */
const IN_FLIGHT_POLL_MS = 100;

/**
 * On resume, a one-shot start command that was running when restore died may still run: its
 * processes carry the mark its `service.starting` recorded before it started (a pid could have
 * been reused since; a random mark in a process's environment cannot). It is waited for until it
 * ends or its deadline passes (counted from when it started), then stopped if still there
 * (SIGTERM, then SIGKILL after 5 s). Its exit status is unknowable once it is not restore's
 * child, so the caller then runs it again: one copy at a time, never two. Waiting, rather than
 * stopping at once, spares a migration or a data load a second interruption nobody asked for.
 * Returns false when the resumed run was interrupted meanwhile (what was found is stopped).
 */
export async function settleInFlight(
  service: ResolvedService,
  before: ServiceState,
  context: ServiceContext,
): Promise<boolean> {
  const start = service.start;
  const place = context.places.of(service);
  if (!start || start.daemon || before.mark === null || !place.tracksMarks) return true;
  const mark = before.mark;
  let found = place.findMarked(mark);
  if (found.length === 0) return true;
  const base = { service: service.name, stage: service.stage };
  const since = before.attempt_at === null ? Date.now() : Date.parse(before.attempt_at);
  const budget = Math.min(service.timeout_ms, start.timeout_ms ?? Number.POSITIVE_INFINITY);
  const until = since + budget;
  const waitStarted = Date.now();
  context.bus.emit({
    type: 'service.in-flight',
    ...base,
    phase: 'waiting',
    processes: found,
    wait_ms: Math.max(0, until - waitStarted),
  });
  while (found.length > 0 && Date.now() < until && !context.signal.aborted) {
    await sleep(Math.min(IN_FLIGHT_POLL_MS, Math.max(1, until - Date.now())), context.signal);
    found = place.findMarked(mark);
  }
  const waited = Date.now() - waitStarted;
  if (found.length === 0) {
    context.bus.emit({ type: 'service.in-flight', ...base, phase: 'ended', processes: [], wait_ms: waited });
    return true;
  }
  const stopped = await place.stopMarked(mark, KILL_GRACE_MS);
  context.bus.emit({
    type: 'service.in-flight',
    ...base,
    phase: 'stopped',
    processes: stopped,
    wait_ms: waited,
  });
  return !context.signal.aborted;
}
