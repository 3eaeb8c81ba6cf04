import { basename } from 'node:path';
import { formatCommand } from '../../plan/command-text.js';
import type { ResolvedService } from '../../plan/model.js';
import { formatDuration } from '../../util/duration.js';
import { attemptRecord, type EventBus, type FailureReason, type ServiceProbe } from '../events.js';
import { type Daemon, spawnDaemon } from '../places/process/daemon.js';
import { labelled } from '../places/process/describe.js';
import { type EscapedProcess, markEnv, newMark, stopEscaped } from '../places/process/escaped.js';
import { directLauncher, type Launcher } from '../places/process/launch.js';
import { KILL_GRACE_MS, runCommand } from '../places/process/run-command.js';
import { toSpec } from '../places/process/spec.js';
import { StderrTail, withStderr } from '../places/process/stderr-tail.js';
import type { CommandRecord, CommandSpec, Stream } from '../places/process/types.js';
import { spawnRemoteDaemon, stopRemoteDaemon } from '../places/ssh/daemon.js';
import { type RemoteTarget, runRemote } from '../places/ssh/run.js';
import { remoteDisplay, type SshHosts } from '../places/ssh/ssh.js';
import { probeRound } from '../probes/round.js';
import type { RoundResult } from '../probes/types.js';
import { Redactor } from '../redact.js';
import { type PlanState, serviceLog, servicePid } from '../state/state-dir.js';
import { sleep } from './sleep.js';
import { type VerifyOutcome, verifyHealth } from './verify.js';

/** SIGTERM to SIGKILL for a daemon stopped because it failed (SPEC section 4, step 7). */
const DAEMON_GRACE_MS = 10_000;

export interface ServiceContext {
  bus: EventBus;
  planDir: string;
  state: PlanState;
  /** Aborts when the run is interrupted. */
  signal: AbortSignal;
  /** Secret values: a daemon's log file must not hold them either. */
  secrets?: readonly string[];
  /** The plan's name (remote daemons keep their files under `~/.restore/<plan>/` on the host). */
  plan?: string;
  /** The plan's SSH connections, when it has hosts. */
  ssh?: SshHosts;
  /** What starts processes here: the spawner helper during apply. */
  launcher?: Launcher;
}

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

/** The plan's name, under which a remote daemon's files live on its host. */
export function planNameOf(ctx: Pick<ServiceContext, 'plan' | 'state'>): string {
  return ctx.plan ?? basename(ctx.state.root);
}

/** Where a service's commands run: on its host, through the plan's connections, or here. */
export function remoteTargetOf(
  service: ResolvedService,
  ctx: Pick<ServiceContext, 'ssh' | 'planDir' | 'launcher'>,
): RemoteTarget | undefined {
  if (service.host === null || !ctx.ssh) return undefined;
  const launcher = ctx.launcher ?? directLauncher;
  return { ssh: ctx.ssh, host: ctx.ssh.host(service.host), localDir: ctx.planDir, launcher };
}

export type ServiceOutcome =
  | { result: 'healthy'; attempts: number; durationMs: number; pid: number | null }
  /** The run was interrupted while this service was in flight; the scheduler reports it skipped. */
  | { result: 'interrupted'; attempts: number; durationMs: number }
  | { result: 'already-healthy'; attempts: 0; durationMs: number }
  | { result: 'failed'; attempts: number; durationMs: number; reason: FailureReason; message: string };

/**
 * Brings one service back (SPEC section 4, steps 4 to 6): one probe round first when
 * `skip_if_healthy`; else its start command, retried `retries` times after `retry_delay` when it
 * fails to start; then probe rounds until healthy, failed, or past the service's deadline.
 * A failing health check is not retried by restarting: the probe budget is its retry.
 */
export async function restoreService(service: ResolvedService, ctx: ServiceContext): Promise<ServiceOutcome> {
  const startedAt = Date.now();
  const deadline = startedAt + service.timeout_ms;
  const base = { service: service.name, stage: service.stage };
  const elapsed = () => Date.now() - startedAt;
  const remote = remoteTargetOf(service, ctx);
  let attempts = 0;
  const redactor = new Redactor(ctx.secrets ?? []);
  const remoteNames = { plan: planNameOf(ctx), service: service.name };
  const reportEscaped = (escaped: EscapedProcess[]) => {
    if (escaped.length > 0)
      ctx.bus.emit({ type: 'service.escaped', ...base, processes: escaped, stopped: true });
  };
  const fail = (reason: FailureReason, message: string): ServiceOutcome => {
    if (reason === 'interrupted') return { result: 'interrupted', attempts, durationMs: elapsed() };
    ctx.bus.emit({ type: 'service.failed', ...base, reason, message, attempts, duration_ms: elapsed() });
    return { result: 'failed', attempts, durationMs: elapsed(), reason, message };
  };
  const healthy = (rounds: number, pid: number | null): ServiceOutcome => {
    ctx.bus.emit({
      type: 'service.healthy',
      ...base,
      attempts,
      rounds,
      duration_ms: elapsed(),
      service_pid: pid,
    });
    return { result: 'healthy', attempts, durationMs: elapsed(), pid };
  };
  const verify = (since: number, exited?: Daemon['exited']) =>
    verifyHealth({
      health: service.health,
      planDir: ctx.planDir,
      startedAt: since,
      deadline,
      signal: ctx.signal,
      remote,
      ...(ctx.launcher ? { launcher: ctx.launcher } : {}),
      ...(exited ? { exited } : {}),
      onRound: reportRound(ctx.bus, base, 'verify'),
    });

  if (service.skip_if_healthy && service.health.checks.length > 0) {
    const round = await probeRound(service.health.checks, {
      timeoutMs: service.health.timeout_ms,
      planDir: ctx.planDir,
      signal: ctx.signal,
      remote,
      ...(ctx.launcher ? { launcher: ctx.launcher } : {}),
    });
    if (ctx.signal.aborted) return fail('interrupted', 'interrupted before it was checked');
    reportRound(ctx.bus, base, 'skip-check')(1, round, true);
    if (round.ok) {
      ctx.bus.emit({ type: 'service.already-healthy', ...base });
      return { result: 'already-healthy', attempts: 0, durationMs: elapsed() };
    }
  }

  const start = service.start;
  if (start === null) {
    // A verify-only service: nothing to start, only to see healthy.
    const outcome = await verify(Date.now());
    return outcome.kind === 'healthy' ? healthy(outcome.rounds, null) : fail(...notHealthy(outcome, service));
  }

  const maxAttempts = service.retries + 1;
  let lastFailure: { reason: FailureReason; message: string } = {
    reason: 'start-failed',
    message: 'not started',
  };
  for (attempts = 1; attempts <= maxAttempts; attempts++) {
    if (ctx.signal.aborted) return fail('interrupted', 'interrupted before it started');
    // Marks this attempt's processes: what leaves its process group is still found (escaped.ts),
    // and a resumed run finds what is left of it. In the journal before the command starts.
    const mark = newMark();
    ctx.bus.emit({
      type: 'service.starting',
      ...base,
      attempt: attempts,
      max_attempts: maxAttempts,
      command: remote ? remoteDisplay(start, remote.host) : formatCommand(start),
      daemon: start.daemon,
      ...(remote ? {} : { mark }),
    });

    if (start.daemon) {
      const plain = toSpec(start, ctx.planDir, null);
      const spec = { ...plain, env: { ...plain.env, ...markEnv(mark) } };
      const spawned = remote
        ? await spawnRemoteDaemon(
            start,
            remote,
            { ...remoteNames, secrets: ctx.secrets ?? [] },
            Math.max(1, deadline - Date.now()),
            ctx.signal,
          )
        : await spawnDaemon(
            spec,
            {
              logFile: serviceLog(ctx.state, service.name),
              pidFile: servicePid(ctx.state, service.name),
              redact: ctx.secrets ?? [],
            },
            ctx.launcher,
          );
      if (!spawned.ok) {
        ctx.bus.emit({
          type: 'service.attempt',
          ...base,
          attempt: attempts,
          ok: false,
          record: attemptRecord(spawned.record),
        });
        if (spawned.record.failure === 'interrupted') {
          // A host may have started it before restore heard its pid.
          if (remote) await stopRemoteDaemon(remote, remoteNames, KILL_GRACE_MS);
          return fail('interrupted', 'interrupted while starting');
        }
        lastFailure = { reason: 'start-failed', message: spawned.record.message };
      } else {
        const daemon = spawned.daemon;
        ctx.bus.emit({
          type: 'service.attempt',
          ...base,
          attempt: attempts,
          ok: true,
          record: attemptRecord(
            spawnedRecord(daemon, plain, remote ? remoteDisplay(start, remote.host) : undefined),
          ),
        });
        const outcome = await verify(daemon.startedAt, daemon.exited);
        if (outcome.kind === 'healthy') {
          daemon.release();
          return healthy(outcome.rounds, remote ? null : daemon.pid);
        }
        const tail = outcome.kind === 'daemon-exited' ? await daemon.lastOutput() : [];
        // A daemon that did not become healthy is stopped, whatever way it failed, with its whole
        // process group and what escaped it: the start script may have exited and left its
        // server running, which a later attempt or run would meet holding the port (and call
        // healthy). Its log stays in the services directory.
        await daemon.stop(outcome.kind === 'interrupted' ? KILL_GRACE_MS : DAEMON_GRACE_MS);
        if (!remote) reportEscaped(await stopEscaped(mark, KILL_GRACE_MS));
        if (outcome.kind !== 'daemon-exited') return fail(...notHealthy(outcome, service));
        const how = outcome.signal
          ? `was killed by ${outcome.signal}`
          : `exited with code ${outcome.exitCode}`;
        // Its log holds stdout and stderr together: its last lines say why, as a command's stderr does.
        const said = lastLines(tail, redactor);
        lastFailure = {
          reason: 'daemon-exited',
          message: `${how} before it was healthy${said.length > 0 ? `; last output: ${said.join(' | ')}` : ''}`,
        };
      }
    } else {
      const remaining = Math.max(1, deadline - Date.now());
      const options = {
        signal: ctx.signal,
        redactor,
        ...(ctx.launcher ? { launcher: ctx.launcher } : {}),
        ...(remote ? {} : { mark }),
        onLine: (stream: Stream, line: string) =>
          ctx.bus.emit({ type: 'service.output', ...base, stream, line }),
      };
      const ran = remote
        ? await runRemote(start, remote, remaining, options)
        : await runCommand(toSpec(start, ctx.planDir, remaining), options);
      // Cut by the service's deadline rather than its own timeout: the figure that counts is the
      // deadline's, not what happened to be left of it when the command started.
      const cutByDeadline =
        ran.failure === 'timeout' && (start.timeout_ms === null || start.timeout_ms > remaining);
      const record = cutByDeadline
        ? {
            ...ran,
            message: withStderr(
              `still running when the deadline of ${formatDuration(service.timeout_ms)} passed`,
              ran.stderr,
            ),
          }
        : ran;
      ctx.bus.emit({
        type: 'service.attempt',
        ...base,
        attempt: attempts,
        ok: record.failure === null,
        record: attemptRecord(record),
      });
      reportEscaped(record.escaped ?? []);
      if (record.failure === 'interrupted') return fail('interrupted', 'interrupted while starting');
      if (record.failure === null) {
        const outcome = await verify(Date.now());
        return outcome.kind === 'healthy'
          ? healthy(outcome.rounds, null)
          : fail(...notHealthy(outcome, service));
      }
      lastFailure = { reason: 'start-failed', message: labelled('start command', record) };
      if (cutByDeadline) return fail('deadline', lastFailure.message);
      if (Date.now() >= deadline)
        return fail(
          'deadline',
          `${lastFailure.message}; deadline of ${formatDuration(service.timeout_ms)} passed`,
        );
    }

    if (attempts < maxAttempts) {
      if (Date.now() + service.retry_delay_ms >= deadline) {
        return fail(
          'deadline',
          `${lastFailure.message}; no time left for a retry within ${formatDuration(service.timeout_ms)}`,
        );
      }
      await sleep(service.retry_delay_ms, ctx.signal);
    }
  }
  attempts = maxAttempts;
  return fail(
    lastFailure.reason,
    `${lastFailure.message}${maxAttempts > 1 ? ` (after ${maxAttempts} attempts)` : ''}`,
  );
}

/** The last non-empty lines of a daemon's log, redacted, within the limits of a command's stderr tail. */
function lastLines(lines: readonly string[], redactor: Redactor): string[] {
  const tail = new StderrTail(redactor);
  for (const line of lines) tail.push(line);
  return tail.lines();
}

function notHealthy(
  outcome: Exclude<VerifyOutcome, { kind: 'healthy' }>,
  service: ResolvedService,
): [FailureReason, string] {
  switch (outcome.kind) {
    case 'unhealthy':
      return ['unhealthy', `not healthy after ${outcome.rounds} rounds: ${describeRound(outcome.last)}`];
    case 'deadline':
      return [
        'deadline',
        `not healthy within its ${formatDuration(service.timeout_ms)} deadline${outcome.last ? `: ${describeRound(outcome.last)}` : ''}`,
      ];
    case 'daemon-exited':
      return ['daemon-exited', `exited with code ${outcome.exitCode} before it was healthy`];
    case 'interrupted':
      return ['interrupted', 'interrupted while being checked'];
  }
}

/** The failing checks of a round, in one line. */
export function describeRound(round: RoundResult): string {
  const failing = round.checks.filter((check) => !check.ok);
  return (failing.length > 0 ? failing : round.checks)
    .map((check) => `${check.kind} ${check.target}: ${check.detail}`)
    .join('; ');
}

function spawnedRecord(daemon: Daemon, spec: CommandSpec, display?: string): CommandRecord {
  return {
    command: display ?? formatCommand(spec),
    argv: spec.argv,
    cwd: spec.cwd,
    pid: daemon.pid,
    startedAt: daemon.startedAt,
    durationMs: 0,
    exitCode: null,
    signal: null,
    timedOut: false,
    failure: null,
    message: `spawned as pid ${daemon.pid}`,
  };
}
