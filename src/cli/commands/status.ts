import { renderStatusText, statusJson } from '../../report/report/status.js';
import { colorsFor } from '../../report/style.js';
import { loadRun } from '../../run/resume.js';
import { planState } from '../../run/state-dir.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';
import { loadOrFail } from './load-or-fail.js';

export interface StatusOptions {
  format: 'text' | 'json';
  stateDir: string;
}

/** `restore status <plan>`: the state of the latest run of the plan, from its journal. */
export async function runStatus(file: string, options: StatusOptions, io: Io): Promise<ExitCode> {
  const loaded = await loadOrFail(file, io);
  const name = loaded.plan.name;
  const run = loadRun(planState(options.stateDir, name));
  io.stdout.write(
    options.format === 'json'
      ? `${JSON.stringify(statusJson(name, run), null, 2)}\n`
      : renderStatusText(name, run, colorsFor(io.stdout, io.env)),
  );
  return EXIT.ok;
}
