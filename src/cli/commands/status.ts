import { STATUS_FORMATS } from '../../report/report/formats.js';
import { rtoTable } from '../../report/rto.js';
import { colorsFor } from '../../report/style.js';
import { loadRun } from '../../run/engine/resume.js';
import { appliedPlan } from '../../run/state/plan-copy.js';
import { checkPlanState, planState } from '../../run/state/state-dir.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { StatusFormat } from '../format-names.js';
import type { Io } from '../io.js';
import { useStateDir } from '../state-dir.js';
import { loadOrFail } from './load-or-fail.js';

export interface StatusOptions {
  format: StatusFormat;
  /** `--state-dir`; undefined: RESTORE_STATE_DIR, or `.restore` in the plan file's directory. */
  stateDir?: string;
}

/** `restore status <plan>`: the state of the latest run of the plan, from its journal. */
export async function runStatus(file: string, options: StatusOptions, io: Io): Promise<ExitCode> {
  const loaded = await loadOrFail(file, io);
  const name = loaded.plan.name;
  const { dir } = useStateDir(options.stateDir, file, io);
  const state = planState(dir, name);
  const run = checkPlanState(state, dir) ? loadRun(state) : undefined;
  // Targets as the run applied them, not as the plan file says now.
  const rto = run ? rtoTable(appliedPlan(state, run.run, loaded.plan), run) : undefined;
  io.stdout.write(STATUS_FORMATS[options.format](name, run, colorsFor(io.stdout, io.env), rto));
  return EXIT.ok;
}
