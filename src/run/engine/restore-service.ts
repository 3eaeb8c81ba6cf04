import type { ResolvedCommand, ResolvedService } from '../../plan/model.js';
import { formatDuration } from '../../util/duration.js';
import { attemptRecord, type FailureReason } from '../events.js';
import type { Place } from '../places/place.js';
import type { Daemon } from '../places/process/daemon.js';
import { labelled } from '../places/process/describe.js';
import { type EscapedProcess, newMark } from '../places/process/escaped.js';
import { KILL_GRACE_MS } from '../places/process/run-command.js';
import { StderrTail, withStderr } from '../places/process/stderr-tail.js';
import type { Stream } from '../places/process/types.js';
import { OutputWatch } from '../probes/log.js';
import { probeRound } from '../probes/round.js';
import { Redactor } from '../redact.js';
import { verifyArtifacts } from './integrity.js';
import { describeRound, reportRound, type ServiceContext, type ServiceOutcome } from './service-context.js';
import { sleep } from './sleep.js';
import { type VerifyOutcome, verifyHealth } from './verify.js';

/** SIGTERM to SIGKILL for a daemon stopped because it failed (SPEC section 4, step 7). */
const DAEMON_GRACE_MS = 10_000;

/** How an attempt ended: the service's outcome, or a failure to start that a retry may mend. */
type Attempted = { done: ServiceOutcome } | { retry: { reason: FailureReason; message: string } };

/**
 * Brings one service back (SPEC section 4, steps 4 to 6): one probe round first when
 * `skip_if_healthy`; else its start command, retried `retries` times after `retry_delay` when it
 * fails to start; then probe rounds until healthy, failed, or past the service's deadline.
 * A failing health check is not retried by restarting: the probe budget is its retry.
 */
export async function restoreService(service: ResolvedService, ctx: ServiceContext): Promise<ServiceOutcome> {
  const run = new ServiceRun(service, ctx);
  if (await run.alreadyHealthy()) {
    // skip_if_healthy never skips integrity (SPEC section 7): what runs must be what was released.
    return (await run.integrity('skip')) ?? run.skipped();
  }
  if (ctx.signal.aborted) return run.fail('interrupted', 'interrupted before it was checked');
  const start = service.start;
  // A verify-only service: nothing to start, only to see healthy; what it lists is checked all the same.
  if (start === null) return (await run.integrity('start')) ?? run.verified(await run.verify(Date.now()));

  const maxAttempts = service.retries + 1;
  let last: { reason: FailureReason; message: string } = { reason: 'start-failed', message: 'not started' };
  for (run.attempts = 1; run.attempts <= maxAttempts; run.attempts++) {
    if (ctx.signal.aborted) return run.fail('interrupted', 'interrupted before it started');
    // Before every attempt: a retry starts what is on disk then, which may not be what was checked before.
    const tampered = await run.integrity('start', true);
    if (tampered) return tampered;
    const attempted = start.daemon ? await attemptDaemon(run, start) : await attemptCommand(run, start);
    if ('done' in attempted) return attempted.done;
    last = attempted.retry;
    if (run.attempts < maxAttempts) {
      if (Date.now() + service.retry_delay_ms >= run.deadline) {
        const within = formatDuration(service.timeout_ms);
        return run.fail('deadline', `${last.message}; no time left for a retry within ${within}`);
      }
      await sleep(service.retry_delay_ms, ctx.signal);
    }
  }
  run.attempts = maxAttempts;
  return run.fail(last.reason, `${last.message}${maxAttempts > 1 ? ` (after ${maxAttempts} attempts)` : ''}`);
}

/**
 * A service a resumed run found still healthy: its artifacts are checked again before it is
 * called healthy (SPEC section 7), since what runs may have been replaced while the run was
 * stopped. Undefined when they pass; else its failed outcome.
 */
export function reverifyIntegrity(
  service: ResolvedService,
  ctx: ServiceContext,
): Promise<ServiceOutcome | undefined> {
  return new ServiceRun(service, ctx).integrity('resume');
}

/**
 * One attempt of a daemon: spawned where the service runs, then verified. A daemon that does not
 * become healthy is stopped, whatever way it failed, with its whole process group and what
 * escaped it: the start script may have exited and left its server running, which a later
 * attempt or run would meet holding the port (and call healthy). Its log stays.
 */
async function attemptDaemon(run: ServiceRun, start: ResolvedCommand): Promise<Attempted> {
  const mark = run.starting(start);
  const spawned = await run.place.spawnDaemon(run.service.name, start, {
    mark,
    deadline: run.deadline,
    signal: run.ctx.signal,
  });
  run.attempted(spawned.record);
  if (!spawned.ok) {
    if (spawned.record.failure === 'interrupted')
      return { done: run.fail('interrupted', 'interrupted while starting') };
    return { retry: { reason: 'start-failed', message: spawned.record.message } };
  }
  const daemon = spawned.daemon;
  run.following(daemon);
  const outcome = await run.verify(daemon.startedAt, daemon.exited);
  if (outcome.kind === 'healthy') {
    daemon.release();
    return { done: run.healthy(outcome.rounds, run.place.pidsAreLocal ? daemon.pid : null) };
  }
  const tail = outcome.kind === 'daemon-exited' ? await daemon.lastOutput() : [];
  await daemon.stop(outcome.kind === 'interrupted' ? KILL_GRACE_MS : DAEMON_GRACE_MS);
  run.escaped(await run.place.stopMarked(mark, KILL_GRACE_MS));
  if (outcome.kind !== 'daemon-exited') return { done: run.verified(outcome) };
  return { retry: { reason: 'daemon-exited', message: exitedEarly(outcome, run.lastLines(tail)) } };
}

/** One attempt of a one-shot command: run to its end within the service's deadline, then verified. */
async function attemptCommand(run: ServiceRun, start: ResolvedCommand): Promise<Attempted> {
  const mark = run.starting(start);
  const remaining = Math.max(1, run.deadline - Date.now());
  const ran = await run.place.run(start, remaining, {
    signal: run.ctx.signal,
    redactor: run.redactor,
    mark,
    onLine: (stream: Stream, line: string) => run.output(stream, line),
  });
  // Cut by the service's deadline rather than its own timeout: the figure that counts is the
  // deadline's, not what happened to be left of it when the command started.
  const cutByDeadline =
    ran.failure === 'timeout' && (start.timeout_ms === null || start.timeout_ms > remaining);
  const deadlineWords = `the deadline of ${formatDuration(run.service.timeout_ms)}`;
  const record = cutByDeadline
    ? { ...ran, message: withStderr(`still running when ${deadlineWords} passed`, ran.stderr) }
    : ran;
  run.attempted(record);
  run.escaped(record.escaped ?? []);
  if (record.failure === 'interrupted')
    return { done: run.fail('interrupted', 'interrupted while starting') };
  if (record.failure === null) return { done: run.verified(await run.verify(Date.now())) };
  const message = labelled('start command', record);
  if (cutByDeadline) return { done: run.fail('deadline', message) };
  if (Date.now() >= run.deadline)
    return { done: run.fail('deadline', `${message}; ${deadlineWords} passed`) };
  return { retry: { reason: 'start-failed', message } };
}

/**
 * One service being restored: where it runs, its deadline, its attempts so far, and the events
 * that say so. Every event of the service goes out from here.
 */
class ServiceRun {
  readonly place: Place;
  readonly startedAt = Date.now();
  readonly deadline: number;
  readonly redactor: Redactor;
  readonly #base: { service: string; stage: string };
  /** What `log` checks read (SPEC section 11); undefined for a service without one. */
  readonly #watch: OutputWatch | undefined;
  attempts = 0;

  constructor(
    readonly service: ResolvedService,
    readonly ctx: ServiceContext,
  ) {
    this.place = ctx.places.of(service);
    this.deadline = this.startedAt + service.timeout_ms;
    this.redactor = new Redactor(ctx.secrets);
    this.#base = { service: service.name, stage: service.stage };
    const logs = service.health.checks.filter((check) => check.kind === 'log');
    this.#watch = logs.length > 0 ? new OutputWatch(logs) : undefined;
  }

  /** `log` checks read what this daemon writes to its log from now on. */
  following(daemon: Daemon): void {
    const read = daemon.newOutput;
    if (!this.#watch || !read) return;
    const watch = this.#watch;
    watch.reset(async () => {
      for (const line of await read()) watch.line(line);
    });
  }

  elapsed(): number {
    return Date.now() - this.startedAt;
  }

  /**
   * Checks the service's `verify:` artifacts where it runs (SPEC section 7): undefined when all
   * pass (`service.verified` says what was hashed), else the service's failed outcome, `reason:
   * integrity`, its start command never run. `beforeAttempt`: the attempt that would have run
   * is not counted, since nothing was started.
   */
  async integrity(
    before: 'start' | 'skip' | 'resume',
    beforeAttempt = false,
  ): Promise<ServiceOutcome | undefined> {
    const { service, ctx } = this;
    if (service.verify.length === 0) return undefined;
    const results = await verifyArtifacts(this.place, service.verify, ctx.signal);
    if (ctx.signal.aborted) return this.fail('interrupted', 'interrupted while its artifacts were checked');
    const failed = results.filter((result) => !result.ok);
    if (failed.length > 0) {
      if (beforeAttempt) this.attempts--;
      const where = this.place.where === 'here' ? '' : ` (on ${this.place.where.replace(/^host /, '')})`;
      return this.fail(
        'integrity',
        `integrity check failed${where}: ${failed.map((r) => r.message).join('; ')}`,
      );
    }
    this.ctx.bus.emit({
      type: 'service.verified',
      ...this.#base,
      before,
      files: results.flatMap((result) => result.files),
      checked: results.map((result) => result.message),
    });
    return undefined;
  }

  /** `skip_if_healthy`: one probe round before anything starts. */
  async alreadyHealthy(): Promise<boolean> {
    const { service, ctx } = this;
    if (!service.skip_if_healthy || service.health.checks.length === 0) return false;
    const round = await probeRound(service.health.checks, {
      timeoutMs: service.health.timeout_ms,
      place: this.place,
      signal: ctx.signal,
    });
    if (ctx.signal.aborted) return false;
    reportRound(ctx.bus, this.#base, 'skip-check')(1, round, true);
    return round.ok;
  }

  skipped(): ServiceOutcome {
    this.ctx.bus.emit({ type: 'service.already-healthy', ...this.#base });
    return { result: 'already-healthy', attempts: 0, durationMs: this.elapsed() };
  }

  /**
   * An attempt begins: a new mark for its processes (what leaves its process group is still
   * found, and a resumed run finds what is left of it), in the journal before the command starts.
   */
  starting(start: ResolvedCommand): string {
    const mark = newMark();
    // `log` checks see the output of this attempt only, not what a failed one printed.
    this.#watch?.reset();
    this.ctx.bus.emit({
      type: 'service.starting',
      ...this.#base,
      attempt: this.attempts,
      max_attempts: this.service.retries + 1,
      command: this.place.display(start),
      daemon: start.daemon,
      ...(this.place.tracksMarks ? { mark } : {}),
    });
    return mark;
  }

  attempted(record: Parameters<typeof attemptRecord>[0]): void {
    this.ctx.bus.emit({
      type: 'service.attempt',
      ...this.#base,
      attempt: this.attempts,
      ok: record.failure === null,
      record: attemptRecord(record),
    });
  }

  output(stream: Stream, line: string): void {
    this.ctx.bus.emit({ type: 'service.output', ...this.#base, stream, line });
    this.#watch?.line(line);
  }

  escaped(processes: EscapedProcess[]): void {
    if (processes.length > 0)
      this.ctx.bus.emit({ type: 'service.escaped', ...this.#base, processes, stopped: true });
  }

  verify(since: number, exited?: Daemon['exited']): Promise<VerifyOutcome> {
    return verifyHealth({
      health: this.service.health,
      place: this.place,
      startedAt: since,
      deadline: this.deadline,
      signal: this.ctx.signal,
      ...(exited ? { exited } : {}),
      ...(this.#watch ? { output: this.#watch } : {}),
      onRound: reportRound(this.ctx.bus, this.#base, 'verify'),
    });
  }

  /** The service's outcome once verification has ended. */
  verified(outcome: VerifyOutcome): ServiceOutcome {
    return outcome.kind === 'healthy'
      ? this.healthy(outcome.rounds, null)
      : this.fail(...notHealthy(outcome, this.service));
  }

  healthy(rounds: number, pid: number | null): ServiceOutcome {
    const durationMs = this.elapsed();
    this.ctx.bus.emit({
      type: 'service.healthy',
      ...this.#base,
      attempts: this.attempts,
      rounds,
      duration_ms: durationMs,
      service_pid: pid,
    });
    return { result: 'healthy', attempts: this.attempts, durationMs, pid };
  }

  fail(reason: FailureReason, message: string): ServiceOutcome {
    const { attempts } = this;
    const durationMs = this.elapsed();
    if (reason === 'interrupted') return { result: 'interrupted', attempts, durationMs };
    this.ctx.bus.emit({
      type: 'service.failed',
      ...this.#base,
      reason,
      message,
      attempts,
      duration_ms: durationMs,
    });
    return { result: 'failed', attempts, durationMs, reason, message };
  }

  /** The last non-empty lines of a daemon's log, redacted, within the limits of a command's stderr tail. */
  lastLines(lines: readonly string[]): string[] {
    const tail = new StderrTail(this.redactor);
    for (const line of lines) tail.push(line);
    return tail.lines();
  }
}

/** Why a daemon that exited before it was healthy failed: how it ended, and what its log said last. */
function exitedEarly(outcome: Extract<VerifyOutcome, { kind: 'daemon-exited' }>, said: string[]): string {
  const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`;
  // Its log holds stdout and stderr together: its last lines say why, as a command's stderr does.
  return `${how} before it was healthy${said.length > 0 ? `; last output: ${said.join(' | ')}` : ''}`;
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
