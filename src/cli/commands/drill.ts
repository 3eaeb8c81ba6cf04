import { quote } from 'shlex';
import type { LoadedPlan } from '../../plan/load.js';
import { readPlanSource } from '../../plan/source.js';
import {
  parseStandIns,
  type StandIns,
  standInRecord,
  standInsFromRecord,
  withStandIns,
} from '../../plan/stand-ins.js';
import { teardownWords, tornDownWords } from '../../report/run/words.js';
import { findResumable } from '../../run/engine/resume.js';
import { type TeardownOutcome, tearDown } from '../../run/engine/teardown.js';
import { EventBus, type Listener, type StandInHost } from '../../run/events.js';
import { Places } from '../../run/places/places.js';
import { Redactor } from '../../run/redact.js';
import type { RunSnapshot } from '../../run/state/journal/state.js';
import { JournalWriter } from '../../run/state/journal/writer.js';
import { openRunLog } from '../../run/state/run-log.js';
import { chooseStateDir, ensurePlanState, planState, runJournal, runLog } from '../../run/state/state-dir.js';
import type { StateError } from '../../run/state/state-files.js';
import { CommandError, UsageError } from '../errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';
import { stateDirFlag } from '../state-dir.js';
import { type ApplyOptions, type ApplyRequest, runApply } from './apply.js';

export interface DrillOptions extends ApplyOptions {
  /** `--hosts FILE`: each plan host's stand-in (SPEC section 10). */
  hosts?: string;
}

/** What `restore drill` adds to an apply: stand-in hosts, and the teardown at the end. */
export interface Drill {
  /** The stand-ins `run.started` records; undefined: the plan's own hosts. */
  readonly hosts: Record<string, StandInHost> | undefined;
  /** The plan on its stand-in hosts, checked against the `--hosts` file (exit 1 when they disagree). */
  prepare(loaded: LoadedPlan): Promise<LoadedPlan>;
  /** A drill that finished but whose teardown did not (killed during it). */
  unfinished(snapshot: RunSnapshot): boolean;
  /** `--resume` of such a drill: the teardown alone, in the same journal. */
  finishTeardown(request: ApplyRequest, snapshot: RunSnapshot): Promise<ExitCode>;
  /** The run's own exit code, or 3 when it succeeded but something it started could not be stopped. */
  exitCode(code: ExitCode, teardown: TeardownOutcome | undefined, io: Io): ExitCode;
}

/**
 * `restore drill <plan>`: a rehearsal. The plan runs as `apply` runs it (the same flags), on
 * stand-in hosts with `--hosts`, then whatever happened (success, a failure, an interrupt, a
 * stop before an approval) everything the drill started is stopped again.
 */
export async function runDrill(
  file: string,
  options: DrillOptions,
  io: Io,
  argv: readonly string[],
): Promise<ExitCode> {
  let text: string | undefined;
  if (options.hosts !== undefined) {
    const source = await readPlanSource(options.hosts);
    if (!source.ok) throw new UsageError(`--hosts: ${source.error.message}`);
    if (source.value.kind === 'too-large') throw new UsageError(`--hosts: ${options.hosts} is too large`);
    text = source.value.text;
  }
  return runApply(file, options, io, argv, new DrillRun(file, options, io, text));
}

class DrillRun implements Drill {
  hosts: Record<string, StandInHost> | undefined;

  constructor(
    private readonly file: string,
    private readonly options: DrillOptions,
    private readonly io: Io,
    private readonly hostsText: string | undefined,
  ) {}

  async prepare(loaded: LoadedPlan): Promise<LoadedPlan> {
    const given = this.hostsText === undefined ? undefined : this.parse(loaded);
    // A resumed drill goes on where it ran: the stand-ins its journal recorded.
    const recorded = this.options.resume ? this.recorded(loaded) : undefined;
    if (recorded && given && recorded.hosts === null) {
      throw new UsageError(
        `run ${recorded.run} ran on the plan's own hosts; resume it without --hosts, or start a new drill`,
      );
    }
    if (recorded?.hosts && given && !sameHosts(recorded.hosts, standInRecord(given))) {
      throw new UsageError(
        `run ${recorded.run} ran on other stand-ins than ${this.options.hosts} gives; resume it without --hosts (its own are used) or start a new drill`,
      );
    }
    if (recorded?.hosts && !given) {
      this.io.stderr.write(`restore: resuming drill ${recorded.run} on the stand-in hosts it recorded\n`);
    }
    const standIns = given ?? (recorded?.hosts ? standInsFromRecord(recorded.hosts, loaded.plan) : undefined);
    if (recorded?.hosts && !standIns) {
      throw new CommandError(
        `run ${recorded.run} ran on stand-ins, and the plan has hosts it did not map; give them with --hosts, or start a new drill`,
        EXIT.invalid,
      );
    }
    if (!standIns) return loaded;
    this.hosts = standInRecord(standIns);
    return withStandIns(loaded, standIns);
  }

  unfinished(snapshot: RunSnapshot): boolean {
    return snapshot.teardown != null && !snapshot.teardown.finished;
  }

  async finishTeardown(request: ApplyRequest, snapshot: RunSnapshot): Promise<ExitCode> {
    const { loaded, io } = request;
    io.stderr.write(
      `restore: drill ${snapshot.run} ${snapshot.state} but its teardown did not finish: tearing down now\n`,
    );
    const state = ensurePlanState(request.stateDir.dir, loaded.plan.name);
    const redactor = new Redactor(loaded.secretValues);
    let failure: StateError | undefined;
    const onFailure = (error: StateError) => {
      failure ??= error;
    };
    const journalFile = runJournal(state, snapshot.run);
    const journal = JournalWriter.resume(journalFile, snapshot.run, redactor, onFailure);
    const log = openRunLog(runLog(state, snapshot.run), snapshot.run, onFailure);
    const bus = new EventBus(redactor.active ? (value) => redactor.deep(value) : undefined);
    bus.subscribe(journal.listener);
    bus.subscribe(log.listener);
    bus.subscribe(this.printer(request));
    const places = new Places({
      plan: loaded.plan,
      planDir: loaded.dir,
      state,
      secrets: loaded.secretValues,
      launcher: request.spawner,
    });
    let outcome: TeardownOutcome;
    try {
      outcome = await tearDown(journalFile, loaded.plan, places, bus);
    } finally {
      await places.close();
      journal.close();
      await log.close();
    }
    if (failure) throw failure;
    return this.exitCode(snapshot.state === 'succeeded' ? EXIT.ok : EXIT.failed, outcome, io);
  }

  exitCode(code: ExitCode, teardown: TeardownOutcome | undefined, io: Io): ExitCode {
    if (!teardown || teardown.failed.length === 0) return code;
    io.stderr.write(
      `restore: the drill's teardown could not stop ${teardown.failed.join(', ')}; ` +
        `stop ${teardown.failed.length === 1 ? 'it' : 'them'} with: restore down ${quote(this.file)} --only ${teardown.failed.join(',')} --yes${stateDirFlag(chooseStateDir(this.options.stateDir, this.file, io.env, io.cwd))}\n`,
    );
    // A rehearsal that leaves something running failed, whatever the run itself achieved.
    return code === EXIT.ok ? EXIT.failed : code;
  }

  /** `--hosts` read against the plan: one line and exit 1 for anything that does not fit. */
  private parse(loaded: LoadedPlan): StandIns {
    const parsed = parseStandIns(this.options.hosts!, this.hostsText!, loaded.plan);
    if (!parsed.ok) throw new CommandError(`--hosts: ${parsed.error}; nothing was run`, EXIT.invalid);
    return parsed.value;
  }

  /** The latest run of the plan, when it is a drill: the stand-ins it ran on. */
  private recorded(
    loaded: LoadedPlan,
  ): { run: string; hosts: Record<string, StandInHost> | null } | undefined {
    const choice = chooseStateDir(this.options.stateDir, this.file, this.io.env, this.io.cwd);
    const target = findResumable(planState(choice.dir, loaded.plan.name));
    if (target.kind === 'new' || target.snapshot.mode !== 'drill') return undefined;
    return { run: target.snapshot.run, hosts: target.snapshot.hosts ?? null };
  }

  /**
   * The teardown's lines when only the teardown runs: no run view is up then, and they go to
   * stderr, so that stdout stays JSON only with --log-format json (the journal has every step).
   */
  private printer(request: ApplyRequest): Listener {
    const { io } = request;
    return (event) => {
      if (event.type === 'service.torn-down') io.stderr.write(`${event.service}  ${tornDownWords(event)}\n`);
      if (event.type === 'drill.torn-down') io.stderr.write(`${teardownWords(event)}\n`);
    };
  }
}

function sameHosts(a: Record<string, StandInHost>, b: Record<string, StandInHost>): boolean {
  const canonical = (hosts: Record<string, StandInHost>) =>
    JSON.stringify(Object.entries(hosts).sort(([x], [y]) => (x < y ? -1 : 1)));
  return canonical(a) === canonical(b);
}
