import type { ResolvedPlan, ResolvedService } from '../../plan/model.js';
import type { Place } from '../places/place.js';
import { labelled } from '../places/process/describe.js';

/** How a service was stopped by `restore down`. */
export interface StopResult {
  service: string;
  stage: string;
  /**
   * `stop-command`: its `stop` ran; `signal`: its daemon's process group was terminated;
   * `not-running`: a daemon with no live process; `left-alone`: a one-shot with no stop command,
   * which has nothing running to stop.
   */
  action: 'stop-command' | 'signal' | 'not-running' | 'left-alone';
  ok: boolean;
  message: string;
}

const LEFT_ALONE = {
  action: 'left-alone',
  ok: true,
  message: 'left alone: a one-shot command with no stop command has nothing running to stop',
} as const;

/** Stop commands that say nothing of their own deadline get this long. */
const STOP_TIMEOUT_MS = 60_000;
/** Between SIGTERM and SIGKILL for a daemon (SPEC section 4, step 7). */
const DAEMON_GRACE_MS = 10_000;

/**
 * The services to stop for `down --only a,b`: those named and everything that depends on them,
 * since a service must not keep running on top of a stopped dependency.
 */
export function withDependents(plan: ResolvedPlan, names: readonly string[]): Set<string> {
  const dependents = new Map<string, string[]>();
  for (const service of Object.values(plan.services)) {
    for (const dep of service.depends_on) dependents.set(dep, [...(dependents.get(dep) ?? []), service.name]);
  }
  const out = new Set<string>();
  const todo = [...names];
  for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
    if (out.has(name)) continue;
    out.add(name);
    todo.push(...(dependents.get(name) ?? []));
  }
  return out;
}

/** The plan's start order reversed: dependents stop before what they depend on. */
export function stopOrder(plan: ResolvedPlan, selected: ReadonlySet<string>): ResolvedService[] {
  return plan.stages
    .flatMap((stage) => stage.services)
    .filter((name) => selected.has(name))
    .reverse()
    .map((name) => plan.services[name]!);
}

/**
 * Stops one service where it runs: its `stop` command when it has one, else its daemon (from
 * the pid file) by SIGTERM to its process group, SIGKILL after 10 s. The pid file goes once it
 * is stopped.
 */
export async function stopService(
  service: ResolvedService,
  place: Place,
  signal?: AbortSignal,
): Promise<StopResult> {
  const base = { service: service.name, stage: service.stage };
  if (service.stop) {
    const record = await place.run(service.stop, STOP_TIMEOUT_MS, signal ? { signal } : {});
    const ok = record.failure === null;
    if (ok) place.forgetDaemon(service.name);
    return { ...base, action: 'stop-command', ok, message: labelled('stop command', record) };
  }
  if (!service.start?.daemon) return { ...base, ...LEFT_ALONE };
  const stopped = await place.stopDaemon(service.name, DAEMON_GRACE_MS);
  return {
    ...base,
    action: stopped.running ? 'signal' : 'not-running',
    ok: stopped.ok,
    message: stopped.message,
  };
}
