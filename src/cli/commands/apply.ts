import { userInfo } from 'node:os';
import { isAbsolute, relative } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseOnly, selectServices } from '../../plan/select.js';
import { renderPlanJson } from '../../report/plan/json.js';
import { renderPlanText } from '../../report/plan/text.js';
import { jsonLinesRenderer } from '../../report/run/json-lines.js';
import { plainRenderer } from '../../report/run/plain.js';
import { renderSummary } from '../../report/run/summary.js';
import { colorsFor } from '../../report/style.js';
import { applyPlan } from '../../run/apply.js';
import type { Listener } from '../../run/events.js';
import { SpawnerLauncher } from '../../run/executor/spawner.js';
import { unreachable } from '../../util/unreachable.js';
import { UsageError } from '../errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';
import { loadOrFail } from './load-or-fail.js';

export interface ApplyOptions {
  dryRun?: boolean;
  yes?: boolean;
  approve: string[];
  concurrency: string;
  only: string[];
  stateDir: string;
  logFormat: 'pretty' | 'json';
  verbose?: boolean;
  approver?: string;
}

/** `restore apply <plan>`: runs the restoration and maps its outcome to SPEC exit codes. */
export async function runApply(
  file: string,
  options: ApplyOptions,
  io: Io,
  argv: readonly string[],
): Promise<ExitCode> {
  const concurrency = Number(options.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new UsageError(`--concurrency must be a whole number of at least 1, not "${options.concurrency}"`);
  }
  // Commands start from a small helper process: forking from restore itself gets slower as the
  // plan it holds grows, and blocks its thread while it forks. It boots while the plan loads.
  const spawner = options.dryRun ? undefined : new SpawnerLauncher();
  try {
    return await applyWith(spawner, file, options, io, argv, concurrency);
  } finally {
    spawner?.close();
  }
}

async function applyWith(
  spawner: SpawnerLauncher | undefined,
  file: string,
  options: ApplyOptions,
  io: Io,
  argv: readonly string[],
  concurrency: number,
): Promise<ExitCode> {
  const loaded = await loadOrFail(file, io);
  const only = parseOnly(options.only);
  let plan = loaded.plan;
  if (only.length > 0) {
    const selected = selectServices(plan, only);
    if (!selected.ok) throw new UsageError(selected.error);
    plan = selected.value;
  }
  const json = options.logFormat === 'json';

  if (options.dryRun || !spawner) {
    const shown = only.length > 0 ? selectServices(loaded.display, only) : undefined;
    const view = { file, plan: shown?.ok ? shown.value : loaded.display, digest: loaded.digest, only };
    io.stdout.write(json ? renderPlanJson(view) : renderPlanText(view, colorsFor(io.stdout, io.env)));
    return EXIT.ok;
  }

  const human = json ? io.stderr : io.stdout;
  const colors = colorsFor(human, io.env);
  const tty = !json && io.stdout.isTTY === true && io.env.TERM !== 'dumb';
  // log-update and its dependencies load only for a terminal.
  const view = tty
    ? (await import('../../report/run/tty.js')).createTtyRenderer(
        io.stdout as NodeJS.WriteStream,
        colors,
        options.verbose === true,
      )
    : undefined;
  const listeners: Listener[] = [
    view?.listener ??
      (json
        ? jsonLinesRenderer((text) => io.stdout.write(text), options.verbose === true)
        : plainRenderer((text) => io.stdout.write(text), colors, options.verbose === true)),
  ];
  const interactive = io.stdin.isTTY === true && io.stderr.isTTY === true;

  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => controller.abort(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const outcome = await applyPlan({
      loaded,
      plan,
      stateDir: options.stateDir,
      concurrency,
      approvals: {
        yes: options.yes === true,
        stages: new Set(options.approve.flatMap((value) => value.split(',')).map((s) => s.trim())),
        approver: options.approver ?? io.env.USER ?? safeUser(),
        ...(interactive ? { ask: (question: string) => askYesNo(question, io, view, controller) } : {}),
      },
      signal: controller.signal,
      argv: [...argv],
      listeners,
      launcher: spawner,
    });
    view?.stop();
    const order = loaded.plan.stages.flatMap((stage) => stage.services);
    if (!json) human.write(`\n${renderSummary(outcome.services, order, outcome.durationMs, colors)}`);
    io.stderr.write(`run ${outcome.run}; log ${shortPath(outcome.logFile, io.cwd)}\n`);
    switch (outcome.result) {
      case 'succeeded':
        return EXIT.ok;
      case 'failed':
        return EXIT.failed;
      case 'awaiting-approval':
        io.stderr.write(
          `restore: stopped before stage "${outcome.awaiting}", which needs approval.\n` +
            `Continue with: restore apply ${file} --approve ${outcome.awaiting}\n`,
        );
        return EXIT.awaitingApproval;
      case 'interrupted':
        return controller.signal.reason === 'SIGTERM' ? EXIT.sigterm : EXIT.sigint;
      default:
        return unreachable(outcome.result);
    }
  } finally {
    view?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function askYesNo(
  question: string,
  io: Io,
  view: { pause(): void; resume(): void } | undefined,
  controller: AbortController,
): Promise<boolean> {
  view?.pause();
  const rl = createInterface({ input: io.stdin, output: process.stderr });
  // Ctrl-C at the prompt interrupts the run, as it does anywhere else.
  rl.on('SIGINT', () => controller.abort('SIGINT'));
  try {
    const answer = await rl.question(question, { signal: controller.signal });
    return /^y(es)?$/i.test(answer.trim());
  } catch {
    return false;
  } finally {
    rl.close();
    view?.resume();
  }
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
