import type { LoadedPlan } from '../../plan/load.js';
import type { ResolvedPlan, ResolvedService } from '../../plan/model.js';
import { labelled } from '../places/process/describe.js';
import { terminateGroup } from '../places/process/process-group.js';
import { runCommand } from '../places/process/run-command.js';
import { toSpec } from '../places/process/spec.js';
import { stopRemoteDaemon } from '../places/ssh/daemon.js';
import { runRemote } from '../places/ssh/run.js';
import type { SshHosts } from '../places/ssh/ssh.js';
import { livePidFrom, removePidFile } from '../state/pid-file.js';
import { planState, servicePid } from '../state/state-dir.js';
import { remoteTargetOf } from './service-runner.js';

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
 * Stops one service: its `stop` command when it has one, else its daemon (from the pid file)
 * by SIGTERM to its process group, SIGKILL after 10 s. The pid file goes once it is stopped.
 */
export async function stopService(
  service: ResolvedService,
  loaded: LoadedPlan,
  stateDir: string,
  signal?: AbortSignal,
  ssh?: SshHosts,
): Promise<StopResult> {
  const base = { service: service.name, stage: service.stage };
  const remote = remoteTargetOf(service, { ssh, planDir: loaded.dir });
  if (remote) {
    if (service.stop) {
      const record = await runRemote(service.stop, remote, STOP_TIMEOUT_MS, signal ? { signal } : {});
      const ok = record.failure === null;
      return { ...base, action: 'stop-command', ok, message: labelled('stop command', record) };
    }
    if (!service.start?.daemon) return { ...base, ...LEFT_ALONE };
    const names = { plan: loaded.plan.name, service: service.name };
    const stopped = await stopRemoteDaemon(remote, names, DAEMON_GRACE_MS);
    return {
      ...base,
      action: stopped.running ? 'signal' : 'not-running',
      ok: stopped.ok,
      message: stopped.message,
    };
  }
  const pidFile = servicePid(planState(stateDir, loaded.plan.name), service.name);
  if (service.stop) {
    const record = await runCommand(
      toSpec(service.stop, loaded.dir, STOP_TIMEOUT_MS),
      signal ? { signal } : {},
    );
    if (record.failure === null) removePidFile(pidFile);
    return {
      ...base,
      action: 'stop-command',
      ok: record.failure === null,
      message: labelled('stop command', record),
    };
  }
  if (!service.start?.daemon) return { ...base, ...LEFT_ALONE };
  const pid = livePidFrom(pidFile);
  if (pid === undefined) {
    removePidFile(pidFile);
    return {
      ...base,
      action: 'not-running',
      ok: true,
      message: 'not running (no live daemon from its pid file)',
    };
  }
  await terminateGroup(pid, DAEMON_GRACE_MS);
  removePidFile(pidFile);
  return { ...base, action: 'signal', ok: true, message: `stopped daemon pid ${pid}` };
}
