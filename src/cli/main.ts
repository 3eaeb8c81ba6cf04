import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { StateError } from '../run/state/state-files.js';
import { unreachable } from '../util/unreachable.js';
import { ON_FAILURE_MODES, SCHEMA_DRAFTS } from './choices.js';
import { CommandError } from './errors.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import {
  CHECK_FORMAT_NAMES,
  DIAGNOSTIC_FORMAT_NAMES,
  LOG_FORMAT_NAMES,
  PLAN_FORMAT_NAMES,
  REPORT_FORMAT_NAMES,
  STATUS_FORMAT_NAMES,
} from './format-names.js';
import { optionDescription } from './help.js';
import { type Io, processStreams, redactingIo, type Streams } from './io.js';
import { COMPLETION_SHELLS, type CompletionShell } from './shells.js';
import { packageVersion } from './version.js';

/**
 * Commander wiring only: parse flags, call one command, map its outcome to an exit code. Each
 * command's module is imported when that command runs, so `restore --version` loads none of them.
 */
export async function main(argv: readonly string[], streams: Streams = processStreams()): Promise<number> {
  // Every command, and every message below, writes through this one redacting Io.
  const io = redactingIo(streams);
  let exitCode: ExitCode = EXIT.ok;
  const program = buildProgram(io, ['restore', ...argv], (code) => {
    exitCode = code;
  });
  if (argv.length === 0) {
    io.stderr.write(program.helpInformation());
    return EXIT.usage;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    return handleError(error, io);
  }
}

function buildProgram(io: Io, argv: string[], setExit: (code: ExitCode) => void): Command {
  const program = new Command('restore')
    .description(
      'Bring hosted services back online in controlled, sequential, verified stages.\n' +
        'Never starts a service before its dependencies are verified healthy.',
    )
    .version(packageVersion(), '--version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .configureHelp({ optionDescription })
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(`restore: ${text.replace(/^error: /, '')}`),
    });
  program.helpCommand('help [command]', 'show help for a command');

  program
    .command('validate')
    .description('check plan files; print every problem with file, line and column')
    .argument('<plan...>', "plan files (YAML), or quoted glob patterns such as 'plans/**/*.yaml'")
    .addOption(
      new Option('--format <format>', 'output format').choices(DIAGNOSTIC_FORMAT_NAMES).default('text'),
    )
    .addHelpText(
      'after',
      '\nExit status: 0 all valid, 1 any invalid, 2 usage error (missing or unreadable file,\n' +
        'a pattern that matches no file).',
    )
    .action(async (plans: string[], options: { format: (typeof DIAGNOSTIC_FORMAT_NAMES)[number] }) => {
      const { runValidate } = await import('./commands/validate.js');
      setExit(await runValidate(plans, options, io));
    });

  program
    .command('plan')
    .description('dry-run preview: stages, start order, commands, health checks and the digest; runs nothing')
    .argument('<plan>', 'plan file (YAML)')
    .addOption(new Option('--format <format>', 'output format').choices(PLAN_FORMAT_NAMES).default('text'))
    .option(
      '--only <services>',
      'only these services (comma-separated, repeatable) and what they depend on',
      collect,
      [],
    )
    .option(
      '--live',
      'run one probe round per service (checks only, never a start command) to show what is healthy',
    )
    .action(
      async (
        plan: string,
        options: { format: (typeof PLAN_FORMAT_NAMES)[number]; only: string[]; live?: boolean },
      ) => {
        const { runPlan } = await import('./commands/plan.js');
        setExit(await runPlan(plan, options, io));
      },
    );

  program
    .command('apply')
    .description('run the restoration: stages in order, each service after its dependencies are healthy')
    .argument('<plan>', 'plan file (YAML)')
    .option('--dry-run', 'print the plan preview (as `restore plan`) and run nothing')
    .option('--yes', 'approve every stage that needs one unsigned approval')
    .option('--approve <stage>', 'approve this stage (repeatable, or comma-separated)', collect, [])
    .option('--wait-approval', 'wait at a stage that needs approval until `restore approve` gives enough')
    .option('--approval-timeout <duration>', 'with --wait-approval: the longest a stage waits', '30m')
    .addOption(
      new Option('--concurrency <n>', 'at most this many services in flight at once')
        .default('4')
        .env('RESTORE_CONCURRENCY')
        .argParser(wholeNumber),
    )
    .option(
      '--only <services>',
      'only these services (comma-separated, repeatable) and what they depend on',
      collect,
      [],
    )
    .option(
      '--resume',
      'continue the latest interrupted or failed run of this plan (same run id and journal)',
    )
    .option('--force', 'with --resume: continue although the plan changed since the run started')
    .addOption(
      new Option('--on-failure <what>', 'after a critical failure: halt, or also stop what this run started')
        .choices(ON_FAILURE_MODES)
        .default('halt')
        .env('RESTORE_ON_FAILURE'),
    )
    .option('--expect-digest <digest>', 'refuse to run unless the plan has this digest (from `restore plan`)')
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .addOption(
      new Option('--log-format <format>', 'output format')
        .choices(LOG_FORMAT_NAMES)
        .default('pretty')
        .env('RESTORE_LOG_FORMAT'),
    )
    .addOption(new Option('--verbose', 'echo service output').env('RESTORE_VERBOSE'))
    .addOption(
      new Option('--approver <name>', 'recorded with approvals')
        .default(undefined, '$USER')
        .env('RESTORE_APPROVER'),
    )
    .option(
      '--otlp-endpoint <url>',
      'send the run as an OpenTelemetry trace over OTLP/HTTP (default: OTEL_EXPORTER_OTLP_ENDPOINT)',
    )
    .option(
      '--metrics-file <path>',
      "write the run's metrics there (Prometheus text format), at each stage end",
    )
    .option(
      '--enforce-rto',
      'exit 3 when every service came up but an RTO target (`rto:`) was missed; otherwise a miss is only reported',
    )
    .addHelpText(
      'after',
      '\nExit status: 0 every service healthy, 1 invalid plan, 2 usage error or unusable state dir,\n' +
        '3 a service failed (or, with --enforce-rto, an RTO target was missed),\n' +
        '4 stopped before a stage that needs approval, 5 plan locked,\n' +
        '74 writing state failed during the run (resumable), 130/143 interrupted.',
    )
    .action(async (plan: string, options: import('./commands/apply.js').ApplyOptions) => {
      const { runApply } = await import('./commands/apply.js');
      setExit(await runApply(plan, options, io, argv));
    });

  program
    .command('down')
    .description('stop services in reverse dependency order (drills, rollback by hand)')
    .argument('<plan>', 'plan file (YAML)')
    .option(
      '--only <services>',
      'only these services (comma-separated, repeatable) and what depends on them',
      collect,
      [],
    )
    .option('--yes', 'do not ask (required when not on a terminal)')
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .action(async (plan: string, options: import('./commands/down.js').DownOptions) => {
      const { runDown } = await import('./commands/down.js');
      setExit(await runDown(plan, options, io));
    });

  program
    .command('status')
    .description('state of the latest run of a plan, from its journal')
    .argument('<plan>', 'plan file (YAML)')
    .addOption(new Option('--format <format>', 'output format').choices(STATUS_FORMAT_NAMES).default('text'))
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .action(async (plan: string, options: import('./commands/status.js').StatusOptions) => {
      const { runStatus } = await import('./commands/status.js');
      setExit(await runStatus(plan, options, io));
    });

  program
    .command('report')
    .description('report of a run: results, timings and a timeline')
    .argument('<plan>', 'plan file (YAML)')
    .addOption(
      new Option('--format <format>', 'output format').choices(REPORT_FORMAT_NAMES).default('markdown'),
    )
    .option('--run <id>', 'the run to report (default: the latest)')
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .action(async (plan: string, options: import('./commands/report.js').ReportOptions) => {
      const { runReport } = await import('./commands/report.js');
      setExit(await runReport(plan, options, io));
    });

  program
    .command('check')
    .description(
      'read-only preflight: hosts answer, programs and directories exist, state dir and lock are usable',
    )
    .argument('<plan>', 'plan file (YAML)')
    .addOption(new Option('--format <format>', 'output format').choices(CHECK_FORMAT_NAMES).default('text'))
    .option(
      '--only <services>',
      'only these services (comma-separated, repeatable) and what they depend on',
      collect,
      [],
    )
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .addHelpText(
      'after',
      '\nNever runs a start or stop command and writes nothing. Exit status: 0 no error found,\n' +
        '1 invalid plan, 2 usage error, 3 a check found an error.',
    )
    .action(async (plan: string, options: import('./commands/check.js').CheckOptions) => {
      const { runCheck } = await import('./commands/check.js');
      setExit(await runCheck(plan, options, io));
    });

  program
    .command('approve')
    .description('record an approval of a stage for the run of a plan that awaits it')
    .argument('<plan>', 'plan file (YAML)')
    .requiredOption('--stage <name>', 'the stage to approve')
    .option('--as <name>', 'who approves (default: $USER)')
    .option('--comment <text>', 'recorded with the approval')
    .option('--sign-with <keyfile>', 'sign the approval with this OpenSSH private key (ssh-keygen -Y sign)')
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .addHelpText(
      'after',
      '\nExit status: 0 recorded, 1 invalid plan, 2 refused (no run awaits it, a name already counted\n' +
        'or not allowed, a signature missing or not valid).',
    )
    .action(async (plan: string, options: import('./commands/approve.js').ApproveOptions) => {
      const { runApprove } = await import('./commands/approve.js');
      setExit(await runApprove(plan, options, io));
    });

  const audit = program.command('audit').description('check the records restore keeps');
  audit
    .command('verify')
    .description(
      "verify a run journal's hash chain: exit 0 with the line count, or 1 naming the first bad line",
    )
    .argument('<journal>', 'a journal file: <state-dir>/<plan>/runs/<run-id>.jsonl')
    .option(
      '--plan <file>',
      "the run's plan, whose allowed_signers re-verify signed approvals (default: the file the run recorded)",
    )
    .action(async (journal: string, options: import('./commands/audit.js').AuditOptions) => {
      const { runAuditVerify } = await import('./commands/audit.js');
      setExit(await runAuditVerify(journal, io, options));
    });

  const evidence = program
    .command('evidence')
    .description("write a run's evidence bundle (.tar.gz) for a change board or an auditor; or verify one")
    .argument('<plan>', 'plan file (YAML); a plan file named verify: give it as ./verify')
    .option('--run <id>', 'the run to bundle (default: the latest)')
    .option(
      '-o, --output <file>',
      'where to write it (a file, or a directory; default: restore-evidence-<plan>-<run>.tar.gz here)',
    )
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .addHelpText(
      'after',
      '\nExit status: 0 written, 1 invalid plan (or an old run whose plan file changed since), 2 usage\n' +
        'error (no such run, no run yet, a place that cannot be written), 5 the run is still in\n' +
        'progress, 74 the write failed on the way. Check a bundle with: restore evidence verify <file>',
    )
    .action(async (plan: string, options: import('./commands/evidence.js').EvidenceOptions) => {
      const { runEvidence } = await import('./commands/evidence.js');
      setExit(await runEvidence(plan, options, io));
    });
  evidence
    .command('verify')
    .description(
      'check a bundle: every file matches MANIFEST.sha256 and the journal chain holds; exit 1 naming the first that does not',
    )
    .argument('<file>', 'an evidence bundle (.tar.gz)')
    .action(async (file: string) => {
      const { runEvidenceVerify } = await import('./commands/evidence.js');
      setExit(await runEvidenceVerify(file, io));
    });
  const notify = program.command('notify').description('notification sinks of a plan (notify:)');
  notify
    .command('test')
    .description('send one test message to every notification sink of a plan and say how each went')
    .argument('<plan>', 'plan file (YAML)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      '\nExit status: 0 every sink that is on got its message, 1 invalid plan, 2 usage error,\n' +
        '3 a sink did not get its message (after 3 tries within 30 s).',
    )
    .action(async (plan: string, options: import('./commands/notify.js').NotifyTestOptions) => {
      const { runNotifyTest } = await import('./commands/notify.js');
      setExit(await runNotifyTest(plan, options, io));
    });

  program
    .command('schema')
    .description('print the plan format as JSON Schema, for editors and other validators')
    .addOption(
      new Option('--draft <draft>', 'JSON Schema version (07 is what editors support fully)')
        .choices(SCHEMA_DRAFTS)
        .default('2020-12'),
    )
    .action(async (options: import('./commands/schema.js').SchemaOptions) => {
      const { runSchema } = await import('./commands/schema.js');
      setExit(runSchema(options, io));
    });

  program
    .command('completion')
    .description('print a shell completion script (commands, flags, and service and stage names of the plan)')
    .addArgument(new Argument('<shell>', 'the shell').choices(COMPLETION_SHELLS))
    .addHelpText('after', '\nExample: source <(restore completion bash)   # in ~/.bashrc')
    .action(async (shell: CompletionShell) => {
      const { completionScript } = await import('./completion.js');
      io.stdout.write(completionScript(shell));
    });

  // What the completion scripts call: candidates for the last word, one per line.
  program
    .command('__complete', { hidden: true })
    .argument('[words...]')
    .allowUnknownOption()
    .helpOption(false)
    .action(async (words: string[]) => {
      const { completions } = await import('./completion.js');
      const candidates = await completions(program, words.length > 0 ? words : ['']);
      io.stdout.write(candidates.map((candidate) => `${candidate}\n`).join(''));
    });

  program
    .command('drill')
    .description('a rehearsal: run the plan as apply does, then always stop what it started')
    .argument('<plan>', 'plan file (YAML)')
    .option('--hosts <file>', 'YAML mapping each plan host to a stand-in, with the keys of `hosts:`')
    .addHelpText(
      'after',
      '\nEvery apply flag works here too. What the drill started is stopped in reverse order after\n' +
        'a success, a failure, an interrupt or a stop before an approval; what it found healthy is\n' +
        "left running. Exit status: the run's own (as apply), 3 also when the run succeeded but\n" +
        'something it started could not be stopped; 1 also for a --hosts file that does not fit.',
    )
    .action(async (plan: string, options: import('./commands/drill.js').DrillOptions) => {
      const { runDrill } = await import('./commands/drill.js');
      setExit(await runDrill(plan, options, io, argv));
    });
  // Every flag of apply is a flag of drill (SPEC section 10), those added to apply later included.
  const drill = program.commands.find((command) => command.name() === 'drill')!;
  for (const option of program.commands.find((command) => command.name() === 'apply')!.options)
    drill.addOption(option);

  return program;
}

/** Checked here so that a bad value names where it came from (the flag or its RESTORE_* variable). */
function wholeNumber(value: string): string {
  if (!/^[1-9][0-9]*$/.test(value.trim()))
    throw new InvalidArgumentError('expected a whole number of at least 1');
  return value;
}

/** Every command that reads or writes state resolves the same default (SPEC section 3). */
const STATE_DIR_HELP =
  "where the lock, journals, run logs and pid files are (default: .restore in the plan file's directory, or $RESTORE_STATE_DIR)";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function handleError(error: unknown, io: Io): ExitCode {
  if (error instanceof CommanderError) {
    // Help and version end parsing by throwing too; they are successes.
    if (['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code)) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    io.stderr.write("(run 'restore --help' for usage)\n");
    return EXIT.usage;
  }
  if (error instanceof CommandError) {
    io.stderr.write(`restore: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof StateError) {
    // The environment, not the plan nor restore: a state dir that cannot be used up front is
    // like an unreadable file (2); a write that failed mid-run has its own code (74).
    io.stderr.write(`restore: ${error.message}\n`);
    switch (error.kind) {
      case 'unusable':
        return EXIT.usage;
      case 'io':
        return EXIT.ioError;
      default:
        return unreachable(error.kind);
    }
  }
  const detail =
    error instanceof Error
      ? io.env.RESTORE_DEBUG
        ? (error.stack ?? error.message)
        : error.message
      : String(error);
  io.stderr.write(
    `restore: internal error: ${detail}\nThis is a bug in restore; set RESTORE_DEBUG=1 for details and report it.\n`,
  );
  return EXIT.internal;
}
