import { createInterface } from 'node:readline/promises';
import { parseOnly } from '../../plan/select.js';
import { standInsFromRecord, withStandIns } from '../../plan/stand-ins.js';
import { colorsFor } from '../../report/style.js';
import { stopOrder, stopService, withDependents } from '../../run/engine/down.js';
import { loadRun } from '../../run/engine/resume.js';
import { Places } from '../../run/places/places.js';
import { directLauncher } from '../../run/places/process/launch.js';
import { checkPlanState, planState } from '../../run/state/state-dir.js';
import { closest } from '../../util/closest.js';
import { CommandError, UsageError } from '../errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { type Io, surviveHangup } from '../io.js';
import { useStateDir } from '../state-dir.js';
import { loadOrFail } from './load-or-fail.js';

export interface DownOptions {
  only: string[];
  yes?: boolean;
  /** `--state-dir`; undefined: RESTORE_STATE_DIR, or `.restore` in the plan file's directory. */
  stateDir?: string;
}

/**
 * `restore down <plan>`: stops services in reverse dependency order, for drills and rollback by
 * hand. Asks on a terminal; elsewhere it needs --yes. Exit 0 when every stop succeeded, 3 if not.
 */
export async function runDown(file: string, options: DownOptions, io: Io): Promise<ExitCode> {
  // A hang-up answers the question no; once services are being stopped, it stops the output to
  // the terminal, not the stopping half-way.
  const hangup = surviveHangup(io);
  try {
    return await down(file, options, io, hangup.signal);
  } finally {
    hangup.dispose();
  }
}

async function down(file: string, options: DownOptions, io: Io, hungUp: AbortSignal): Promise<ExitCode> {
  const written = await loadOrFail(file, io);
  const plan = written.plan;
  const only = parseOnly(options.only);
  for (const name of only) {
    if (!(name in plan.services)) {
      const guess = closest(name, Object.keys(plan.services));
      throw new UsageError(
        `--only: no service "${name}" in plan ${plan.name}${guess ? ` (did you mean "${guess}"?)` : ''}`,
      );
    }
  }
  // Before asking: the state dir it acts on is said, and one that cannot be trusted refuses here.
  const stateDir = useStateDir(options.stateDir, file, io).dir;
  const state = planState(stateDir, plan.name);
  checkPlanState(state, stateDir);
  // After a drill on stand-ins, its services run there, and the plan's real hosts are not touched.
  const latest = loadRun(state);
  const standIns =
    latest?.mode === 'drill' && latest.hosts ? standInsFromRecord(latest.hosts, plan) : undefined;
  if (latest?.mode === 'drill' && latest.hosts && !standIns)
    throw new CommandError(
      `the latest run, ${latest.run}, is a drill on stand-in hosts, and the plan has hosts it did not map; nothing was stopped`,
      EXIT.invalid,
    );
  const loaded = standIns ? withStandIns(written, standIns) : written;
  if (loaded !== written)
    io.stderr.write(
      `restore: the latest run, ${latest!.run}, is a drill: stopping on the stand-in hosts it recorded\n`,
    );
  const selected = only.length > 0 ? withDependents(plan, only) : new Set(Object.keys(plan.services));
  const order = stopOrder(loaded.plan, selected);
  const names = order.map((s) => s.name).join(', ');

  if (!options.yes) {
    if (io.stdin.isTTY !== true || io.stderr.isTTY !== true) {
      throw new UsageError(
        `down would stop ${order.length} service(s) (${names}); confirm with --yes when not on a terminal`,
      );
    }
    const rl = createInterface({ input: io.stdin, output: process.stderr });
    // A terminal that hangs up at the question answers no (its setRawMode EIO is no crash).
    rl.on('error', () => {});
    const answer = await rl
      .question(`Stop ${order.length} service(s) of ${plan.name} (${names})? [y/N] `, {
        signal: hungUp,
      })
      .catch(() => '')
      .finally(() => rl.close());
    if (!/^y(es)?$/i.test(answer.trim())) throw new CommandError('nothing was stopped', EXIT.usage);
  }

  const c = colorsFor(io.stdout, io.env);
  let failures = 0;
  let leftAlone = 0;
  const places = new Places({
    plan: loaded.plan,
    planDir: loaded.dir,
    state,
    secrets: loaded.secretValues,
    launcher: directLauncher,
  });
  try {
    for (const service of order) {
      const result = await stopService(service, places.of(service));
      if (!result.ok) failures += 1;
      if (result.action === 'left-alone') leftAlone += 1;
      const quiet = result.action === 'not-running' || result.action === 'left-alone';
      const mark = result.ok ? (quiet ? c.dim('-') : c.green('✓')) : c.red('✗');
      io.stdout.write(`${mark} ${service.name.padEnd(20)} ${result.message}\n`);
    }
  } finally {
    await places.close();
  }
  const stoppable = order.length - leftAlone;
  io.stdout.write(
    `${stoppable - failures} of ${stoppable} services stopped or not running` +
      `${leftAlone > 0 ? `; ${leftAlone} one-shot${leftAlone === 1 ? '' : 's'} left alone (nothing running to stop)` : ''}\n`,
  );
  return failures === 0 ? EXIT.ok : EXIT.failed;
}
