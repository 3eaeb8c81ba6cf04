import { userInfo } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { quote } from 'shlex';
import type { RtoRow as MetricRtoRow } from '../../observe/metrics.js';
import { type ObserveChoice, observeChoice, startObservers } from '../../observe/observers.js';
import type { LoadedPlan } from '../../plan/load.js';
import type { ResolvedPlan } from '../../plan/model.js';
import { parseOnly, selectServices } from '../../plan/select.js';
import { renderPlan } from '../../report/plan/formats.js';
import { breachWords, rtoEntries } from '../../report/report/rto-view.js';
import { type RtoRow, rtoTable } from '../../report/rto.js';
import { createRunView, type RunView } from '../../report/run/views.js';
import { colorsFor } from '../../report/style.js';
import { applyPlan } from '../../run/engine/apply.js';
import { findResumable } from '../../run/engine/resume.js';
import type { Listener } from '../../run/events.js';
import { SpawnerLauncher } from '../../run/places/process/spawner.js';
import { type RunSnapshot, readRun, timesSeed } from '../../run/state/journal/state.js';
import { takeLock } from '../../run/state/lock.js';
import { ensurePlanState, runJournal, type StateDirChoice } from '../../run/state/state-dir.js';
import { StateError, unusable } from '../../run/state/state-files.js';
import { parseDuration } from '../../util/duration.js';
import { unreachable } from '../../util/unreachable.js';
import type { OnFailure } from '../choices.js';
import { CommandError, UsageError } from '../errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { LogFormat } from '../format-names.js';
import { type Io, surviveHangup } from '../io.js';
import { stateDirFlag, useStateDir } from '../state-dir.js';
import { packageVersion } from '../version.js';
import type { Drill } from './drill.js';
import { loadOrFail } from './load-or-fail.js';

export interface ApplyOptions {
  dryRun?: boolean;
  yes?: boolean;
  approve: string[];
  concurrency: string;
  only: string[];
  resume?: boolean;
  force?: boolean;
  onFailure: OnFailure;
  expectDigest?: string;
  /** `--state-dir`; undefined: RESTORE_STATE_DIR, or `.restore` in the plan file's directory. */
  stateDir?: string;
  logFormat: LogFormat;
  verbose?: boolean;
  approver?: string;
  /** `--wait-approval`: wait at a gate off a terminal too (SPEC section 9). */
  waitApproval?: boolean;
  /** `--approval-timeout`, a duration. */
  approvalTimeout?: string;
  /** `--otlp-endpoint`: send the run's trace there (OTLP/HTTP); else the OTEL_EXPORTER_OTLP_* variables. */
  otlpEndpoint?: string;
  /** `--metrics-file`: keep the run's metrics there (Prometheus text format). */
  metricsFile?: string;
  /** `--enforce-rto`: a run whose services all came up but missed a target exits 3 (SPEC section 10). */
  enforceRto?: boolean;
}

/**
 * `restore apply <plan>`: runs the restoration and maps its outcome to SPEC exit codes. With
 * `drill` (`restore drill`, src/cli/commands/drill.ts), the same run on stand-in hosts, torn down
 * at its end.
 */
export async function runApply(
  file: string,
  options: ApplyOptions,
  io: Io,
  argv: readonly string[],
  drill?: Drill,
): Promise<ExitCode> {
  const concurrency = Number(options.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new UsageError(`--concurrency must be a whole number of at least 1, not "${options.concurrency}"`);
  }
  const approvalTimeoutMs = parseDuration(options.approvalTimeout ?? '30m');
  if (approvalTimeoutMs === undefined) {
    throw new UsageError(
      `--approval-timeout takes a duration such as 30m or 1h30m, not "${options.approvalTimeout}"`,
    );
  }
  if (options.expectDigest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(options.expectDigest)) {
    throw new UsageError(
      `--expect-digest takes sha256:<64 hex digits> as printed by \`restore plan\`, not "${options.expectDigest}"`,
    );
  }
  const observe = observeChoice(options, io.env);
  if (!observe.ok) throw new UsageError(observe.error);
  // Commands start from a small helper process: forking from restore itself gets slower as the
  // plan it holds grows, and blocks its thread while it forks. It boots while the plan loads.
  // The helper's entry is built next to the bundle (scripts/bundle.mjs).
  const spawner = options.dryRun
    ? undefined
    : new SpawnerLauncher(new URL('./spawner-main.js', import.meta.url));
  try {
    // A drill's stand-ins replace the plan's hosts before anything is made from the plan.
    const loaded = drill ? await drill.prepare(await loadOrFail(file, io)) : await loadOrFail(file, io);
    const only = parseOnly(options.only);
    const plan = only.length > 0 ? select(loaded.plan, only) : loaded.plan;
    if (options.dryRun || !spawner) {
      const view = {
        file,
        plan: only.length > 0 ? select(loaded.display, only) : loaded.display,
        digest: loaded.digest,
        only,
      };
      const format = options.logFormat === 'json' ? 'json' : 'text';
      io.stdout.write(renderPlan(format, view, colorsFor(io.stdout, io.env), io.redactor));
      return EXIT.ok;
    }
    if (options.expectDigest !== undefined && options.expectDigest !== loaded.digest) {
      throw new CommandError(
        `the plan's digest is ${loaded.digest}, not the expected ${options.expectDigest}: it changed since it was reviewed; nothing was started`,
        EXIT.invalid,
      );
    }
    const stateDir = useStateDir(options.stateDir, file, io);
    for (const warning of observe.value.warnings) io.stderr.write(`restore: warning: ${warning}\n`);
    return await applyLocked({
      loaded,
      plan,
      spawner,
      file,
      options,
      io,
      argv,
      concurrency,
      stateDir,
      approvalTimeoutMs,
      observe: observe.value,
      ...(drill ? { drill } : {}),
    });
  } finally {
    spawner?.close();
  }
}

function select(plan: ResolvedPlan, only: string[]): ResolvedPlan {
  const selected = selectServices(plan, only);
  if (!selected.ok) throw new UsageError(selected.error);
  return selected.value;
}

/** A validated apply, ready to run: the plan as loaded and as selected, and how it was asked for. */
export interface ApplyRequest {
  loaded: LoadedPlan;
  plan: ResolvedPlan;
  spawner: SpawnerLauncher;
  file: string;
  options: ApplyOptions;
  io: Io;
  argv: readonly string[];
  concurrency: number;
  stateDir: StateDirChoice;
  approvalTimeoutMs: number;
  /** `--otlp-endpoint`, `--metrics-file` and the OTEL_* variables, checked (src/observe/). */
  observe: ObserveChoice;
  /** `restore drill`: its stand-ins are in `loaded`; what it starts is torn down at the end. */
  drill?: Drill;
}

async function applyLocked(request: ApplyRequest): Promise<ExitCode> {
  const { loaded, options, io } = request;
  const state = ensurePlanState(request.stateDir.dir, loaded.plan.name);
  let lock: ReturnType<typeof takeLock>;
  try {
    lock = takeLock(state.root);
  } catch (error) {
    throw unusable(state.root, error);
  }
  if (!lock.ok) {
    const h = lock.error;
    throw new CommandError(
      `plan ${loaded.plan.name} is locked by another apply: pid ${h.pid} on ${h.host}, since ${h.started_at}${h.run ? `, run ${h.run}` : ''} (${join(state.root, 'lock')})`,
      EXIT.locked,
    );
  }
  const released = () => lock.value.release();
  process.once('exit', released);
  try {
    if (lock.value.tookOver) {
      const t = lock.value.tookOver;
      io.stderr.write(
        `restore: warning: took over a stale lock of pid ${t.pid} (gone) from ${t.started_at}\n`,
      );
    }
    let resume: RunSnapshot | undefined;
    if (options.resume) {
      const target = findResumable(state);
      // A drill is continued as a drill, a restoration as a restoration: never on the other's hosts.
      const mode = request.drill ? 'drill' : 'apply';
      if (target.kind !== 'new' && target.snapshot.mode !== mode) {
        throw new UsageError(
          `the latest run, ${target.snapshot.run}, is ${target.snapshot.mode === 'drill' ? 'a drill' : 'a restoration'}: ` +
            `continue it with restore ${target.snapshot.mode} ${quote(request.file)} --resume, or start a new run without --resume`,
        );
      }
      if (target.kind === 'done' && request.drill?.unfinished(target.snapshot)) {
        return await request.drill.finishTeardown(request, target.snapshot);
      }
      if (target.kind === 'done') {
        io.stderr.write(`restore: the latest run, ${target.run}, succeeded: nothing to resume\n`);
        return EXIT.ok;
      }
      if (target.kind === 'new') {
        io.stderr.write(`restore: nothing to resume (${target.reason}); starting a new run\n`);
      } else {
        resume = target.snapshot;
        if (resume.digest !== loaded.digest && !options.force) {
          throw new CommandError(
            `the plan changed since run ${resume.run} started (digest ${resume.digest}, now ${loaded.digest}); ` +
              'review it, then resume with --force, or start a new run without --resume',
            EXIT.invalid,
          );
        }
      }
    }
    return await execute(request, resume, (run) => lock.value.setRun(run));
  } finally {
    released();
    process.off('exit', released);
  }
}

async function execute(
  request: ApplyRequest,
  resume: RunSnapshot | undefined,
  onRun: (run: string) => void,
): Promise<ExitCode> {
  const { loaded, plan, spawner, file, options, io, argv, concurrency, stateDir } = request;
  const { approvalTimeoutMs } = request;
  // The view for --log-format and the terminal, then the summary when the run ends (views.ts).
  const view = await createRunView(options.logFormat, {
    stdout: io.stdout,
    env: io.env,
    verbose: options.verbose === true,
    order: loaded.plan.stages.flatMap((stage) => stage.services),
  });
  const state = ensurePlanState(stateDir.dir, plan.name);
  let runId: string | undefined;
  // A trace and a metrics file, when asked for: subscribers too, with their end awaited by the run.
  const observers = await startObservers(request.observe, {
    plan,
    env: io.env,
    version: packageVersion(),
    redact: (text) => io.redactor.text(text),
    ...(resume ? { seed: timesSeed(resume) } : {}),
    // Read when run.finished has reached the journal (it subscribes before every other listener).
    rto: () => (runId === undefined ? undefined : metricRows(plan, runJournal(state, runId))),
  });
  const observed: { source: string; message: string }[] = [];
  const listeners: Listener[] = [
    ...view.listeners,
    (event) => {
      if (event.type === 'run.started' || event.type === 'run.resumed') {
        runId = event.run;
        onRun(event.run);
      }
    },
    ...observers.map((observer) => observer.listener),
  ];
  const interactive = io.stdin.isTTY === true && io.stderr.isTTY === true;

  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => controller.abort(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A hang-up stops the output to the terminal, not the restoration; a prompt then gets no answer.
  const hangup = surviveHangup(io);
  const outputs = (['stdout', 'stderr'] as const).flatMap((stream) => {
    const onClose = io[stream].onClose;
    return onClose ? [{ stream, onClose }] : [];
  });
  try {
    const outcome = await applyPlan({
      loaded,
      plan,
      stateDir: stateDir.dir,
      concurrency,
      approvals: {
        yes: options.yes === true,
        stages: new Set(options.approve.flatMap((value) => value.split(',')).map((s) => s.trim())),
        approver: options.approver ?? io.env.USER ?? safeUser(),
        wait: options.waitApproval === true,
        timeoutMs: approvalTimeoutMs,
        ...(interactive
          ? { ask: (question: string) => askYesNo(question, io, view, controller, hangup.signal) }
          : {}),
      },
      signal: controller.signal,
      argv: [...argv],
      listeners,
      launcher: spawner,
      onFailure: options.onFailure,
      outputs,
      finishers: observers.map((observer) => async () => {
        const warnings = await observer.finish();
        observed.push(...warnings);
        return warnings;
      }),
      ...(resume ? { resume } : {}),
      ...(request.drill ? { mode: 'drill' as const, hosts: request.drill.hosts } : {}),
    });
    for (const warning of observed) io.stderr.write(`restore: warning: ${warning.message}\n`);
    io.stderr.write(
      `run ${outcome.run}; journal ${shortPath(outcome.journalFile, io.cwd)}; log ${shortPath(outcome.logFile, io.cwd)}\n`,
    );
    if (outcome.stateError) {
      const e = outcome.stateError;
      throw new StateError(
        `${e.message}; the run stopped there, and its journal keeps every step recorded before: once that is fixed, continue with: restore apply ${file} --resume${stateDirFlag(stateDir)}`,
        e.kind,
        e.path,
      );
    }
    const missed = reportMissedTargets(plan, outcome.journalFile, io);
    const command = request.drill ? 'drill' : 'apply';
    const code = ((): ExitCode => {
      switch (outcome.result) {
        case 'succeeded':
          if (missed && options.enforceRto) {
            io.stderr.write(
              'restore: every service is healthy, but a recovery time objective was missed (--enforce-rto)\n',
            );
            return EXIT.failed;
          }
          return EXIT.ok;
        case 'failed':
          return EXIT.failed;
        case 'awaiting-approval':
          io.stderr.write(
            `restore: stopped before stage "${outcome.awaiting}", which needs approval.\n` +
              continueWith(file, outcome.awaiting ?? '', plan, stateDirFlag(stateDir), command),
          );
          return EXIT.awaitingApproval;
        case 'interrupted':
          io.stderr.write(
            `restore: interrupted; continue with: restore ${command} ${quote(file)} --resume${stateDirFlag(stateDir)}\n`,
          );
          return controller.signal.reason === 'SIGTERM' ? EXIT.sigterm : EXIT.sigint;
        default:
          return unreachable(outcome.result);
      }
    })();
    return request.drill ? request.drill.exitCode(code, outcome.teardown, io) : code;
  } finally {
    view.stop?.();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    hangup.dispose();
  }
}

/**
 * Says on stderr which RTO targets the run missed (SPEC section 10), from its journal as `report`
 * reads it; true when one was. A plan without targets costs nothing: its journal is not read.
 */
function hasTargets(plan: ResolvedPlan): boolean {
  return (
    plan.rto_ms !== undefined ||
    plan.stages.some((stage) => stage.rto_ms !== undefined) ||
    Object.values(plan.services).some((service) => service.rto_ms !== undefined)
  );
}

function reportMissedTargets(plan: ResolvedPlan, journalFile: string, io: Io): boolean {
  const run = hasTargets(plan) ? readRun(journalFile) : undefined;
  if (!run) return false;
  const table = rtoTable(plan, run);
  for (const entry of rtoEntries(table, plan.name)) {
    if (entry.row.met === false) io.stderr.write(`restore: RTO missed: ${breachWords(entry)}\n`);
  }
  return table.missed;
}

/** The RTO gauges of the metrics file: targets the run met or missed (open ones say nothing yet). */
function metricRows(plan: ResolvedPlan, journalFile: string): MetricRtoRow[] | undefined {
  const run = hasTargets(plan) ? readRun(journalFile) : undefined;
  if (!run) return undefined;
  const table = rtoTable(plan, run);
  const rows: MetricRtoRow[] = [];
  const add = (level: MetricRtoRow['level'], name: string, row: RtoRow | null) => {
    if (row === null || row.met === null) return;
    rows.push({ level, name, met: row.met, achieved_ms: row.achieved_ms, rto_ms: row.rto_ms });
  };
  add('plan', plan.name, table.plan);
  for (const [name, row] of Object.entries(table.stages)) add('stage', name, row);
  for (const [name, row] of Object.entries(table.services)) add('service', name, row);
  return rows;
}

async function askYesNo(
  question: string,
  io: Io,
  view: RunView,
  controller: AbortController,
  hungUp: AbortSignal,
): Promise<boolean> {
  // Nobody is left at the terminal to answer: the stage is not approved (exit 4, resumable).
  if (hungUp.aborted) return false;
  view.pause?.();
  const rl = createInterface({ input: io.stdin, output: process.stderr });
  // A terminal that hung up fails even the reset of its mode (setRawMode EIO): no answer, no crash.
  rl.on('error', () => {});
  // Ctrl-C at the prompt interrupts the run, as it does anywhere else.
  rl.on('SIGINT', () => controller.abort('SIGINT'));
  try {
    const answer = await rl.question(question, { signal: AbortSignal.any([controller.signal, hungUp]) });
    return /^y(es)?$/i.test(answer.trim());
  } catch {
    return false;
  } finally {
    rl.close();
    view.resume?.();
  }
}

/**
 * How to go on after exit 4: `--approve` for a gate that one unsigned approval opens; otherwise
 * the approvals `restore approve` records, then `--resume`.
 */
function continueWith(
  file: string,
  stage: string,
  plan: ResolvedPlan,
  flag: string,
  command: 'apply' | 'drill' = 'apply',
): string {
  const rule = plan.stages.find((s) => s.name === stage)?.approval_rule;
  if (!rule || (rule.approvers === 1 && !rule.signed))
    return `Continue with: restore ${command} ${quote(file)} --resume --approve ${stage}${flag}\n`;
  const how = `${rule.approvers} approval${rule.approvers === 1 ? '' : 's'}${rule.signed ? ', signed' : ''}`;
  return (
    `It needs ${how}: each approver runs restore approve ${quote(file)} --stage ${stage}${flag}` +
    `${rule.signed ? ' --sign-with KEY' : ''}\nthen continue with: restore ${command} ${quote(file)} --resume${flag}\n`
  );
}

/** A path relative to the working directory when it is inside it. */
function shortPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
