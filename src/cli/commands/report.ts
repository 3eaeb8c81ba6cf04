import { REPORT_FORMATS } from '../../report/report/formats.js';
import { outputTails } from '../../report/report/output-tail.js';
import { rtoTable } from '../../report/rto.js';
import { loadRun } from '../../run/engine/resume.js';
import { appliedPlan } from '../../run/state/plan-copy.js';
import { checkPlanState, planState, runLog } from '../../run/state/state-dir.js';
import { CommandError, UsageError } from '../errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { ReportFormat } from '../format-names.js';
import type { Io } from '../io.js';
import { useStateDir } from '../state-dir.js';
import { loadOrFail } from './load-or-fail.js';

export interface ReportOptions {
  format: ReportFormat;
  run?: string;
  /** `--state-dir`; undefined: RESTORE_STATE_DIR, or `.restore` in the plan file's directory. */
  stateDir?: string;
}

/** `restore report <plan>`: results, timings and a timeline of a run (the latest, or --run). */
export async function runReport(file: string, options: ReportOptions, io: Io): Promise<ExitCode> {
  const loaded = await loadOrFail(file, io);
  if (options.run !== undefined && !/^[0-9A-Za-z.-]+$/.test(options.run))
    throw new UsageError(`--run: "${options.run}" is not a run id`);
  const { dir } = useStateDir(options.stateDir, file, io);
  const state = planState(dir, loaded.plan.name);
  const run = checkPlanState(state, dir) ? loadRun(state, options.run) : undefined;
  if (!run) {
    throw new CommandError(
      options.run
        ? `no run ${options.run} of plan ${loaded.plan.name}`
        : `no run of plan ${loaded.plan.name} yet`,
      EXIT.usage,
    );
  }
  const format = REPORT_FORMATS[options.format];
  // The last lines a failed service printed, from the run log, for the formats that show them.
  const failed = Object.keys(run.services).filter((name) => run.services[name]!.result === 'failed');
  const tails = format.tails
    ? await outputTails(runLog(state, run.run), failed)
    : new Map<string, string[]>();
  // Targets as the run applied them, not as the plan file says now.
  io.stdout.write(format.render(run, tails, rtoTable(appliedPlan(state, run.run, loaded.plan), run)));
  return EXIT.ok;
}
