import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseYamlLeniently } from '../../plan/parse.js';
import { NAME_PATTERN } from '../../plan/schema.js';
import { readPlanSource } from '../../plan/source.js';
import { bundleFiles, type EvidenceSources } from '../../report/evidence/bundle.js';
import { sha256 } from '../../report/evidence/manifest.js';
import { packTarGz } from '../../report/evidence/tar.js';
import { verifyBundle } from '../../report/evidence/verify.js';
import { outputTails } from '../../report/report/output-tail.js';
import { loadRun } from '../../run/engine/resume.js';
import { readApprovals } from '../../run/state/approvals-inbox.js';
import { parseJournal } from '../../run/state/journal/read.js';
import { replay } from '../../run/state/journal/state.js';
import { readPlanCopy } from '../../run/state/plan-copy.js';
import { checkPlanState, type PlanState, planState, runJournal, runLog } from '../../run/state/state-dir.js';
import { errnoOf, ioFailed, readStateFile, writeFileAtomic } from '../../run/state/state-files.js';
import { CommandError, UsageError } from '../errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { type Io, redactingIo } from '../io.js';
import { readNamedFile } from '../named-file.js';
import { useStateDir } from '../state-dir.js';
import { packageVersion } from '../version.js';
import { runAuditVerify } from './audit.js';
import { loadOrFail, readPlan } from './load-or-fail.js';

export interface EvidenceOptions {
  run?: string;
  /** `-o`: the bundle's path, or a directory to write it in (default: the working directory). */
  output?: string;
  /** `--state-dir`; undefined: RESTORE_STATE_DIR, or `.restore` in the plan file's directory. */
  stateDir?: string;
}

/**
 * `restore evidence <plan>` (SPEC section 10): one `.tar.gz` of a finished run (the latest, or
 * --run) for a change board or an auditor. Written to a temporary file next to its place and
 * renamed there, so a failure leaves no half bundle behind.
 */
export async function runEvidence(file: string, options: EvidenceOptions, io: Io): Promise<ExitCode> {
  const { name, loaded } = await planToBundle(file, io);
  if (options.run !== undefined && !/^[0-9A-Za-z.-]+$/.test(options.run))
    throw new UsageError(`--run: "${options.run}" is not a run id`);
  if (options.output === '-')
    throw new UsageError('-o -: a bundle is binary and is not written to standard output; give a file name');
  const { dir } = useStateDir(options.stateDir, file, io);
  const state = planState(dir, name);
  const found = checkPlanState(state, dir) ? loadRun(state, options.run) : undefined;
  if (!found) {
    throw new UsageError(
      options.run
        ? `no run ${options.run} of plan ${name} in ${state.runsDir}`
        : `no run of plan ${name} yet`,
    );
  }
  if (found.state === 'running') {
    // Its journal is still growing: a bundle of it would not be the run's, and would not be
    // the same bytes twice. The apply holds the plan's lock, hence the lock's exit code.
    throw new CommandError(
      `run ${found.run} of plan ${name} is still in progress (an apply holds the plan's lock); nothing was written: make the bundle once it has ended`,
      EXIT.locked,
    );
  }
  const sources = await readSources(file, state, found.run, found.state, name, loaded, io);
  const files = bundleFiles(sources, io.redactor);
  const top = `restore-evidence-${name}-${found.run}`;
  // The run's own time, never "now": the same run gives the same bytes.
  const mtime = new Date(found.finished_at ?? found.started_at);
  const data = await packTarGz(top, files, Number.isNaN(mtime.getTime()) ? new Date(0) : mtime);
  const target = outputPath(options.output, `${top}.tar.gz`, io.cwd);
  writeBundle(target, data);
  io.stdout.write(`${target}: ${files.length} files, sha256 ${sha256(data)}\n`);
  return EXIT.ok;
}

type Loaded = Awaited<ReturnType<typeof loadOrFail>>;

/**
 * The plan's name (its state) and, when it loads, the plan. What a bundle shows of the plan is
 * the copy its run kept, so the variables it was applied with need not be set where the bundle is
 * made (an auditor's machine, a CI job without the secrets): a plan whose only problems are unset
 * variables is taken by its name. Any other problem ends the command as it would `report`.
 */
async function planToBundle(file: string, io: Io): Promise<{ name: string; loaded?: Loaded }> {
  const read = await readPlan(file, io);
  if (read.ok) return { name: read.value.plan.name, loaded: read.value };
  if (read.error.kind === 'invalid' && read.error.diagnostics.every((d) => d.code === 'unset-variable')) {
    const source = await readPlanSource(file);
    const data =
      source.ok && source.value.kind === 'text' ? parseYamlLeniently(source.value.text) : undefined;
    const name = (data as { name?: unknown } | undefined)?.name;
    if (typeof name === 'string' && new RegExp(NAME_PATTERN).test(name)) return { name };
  }
  return { name: '', loaded: await loadOrFail(file, io) };
}

/** Everything a bundle holds, read from the state dir once. */
async function readSources(
  file: string,
  state: PlanState,
  id: string,
  settled: string,
  name: string,
  loaded: Loaded | undefined,
  io: Io,
): Promise<EvidenceSources> {
  const journalFile = runJournal(state, id);
  const journal = readStateFile(journalFile);
  const read = journal === undefined ? undefined : parseJournal(journal);
  const run = read ? replay(read) : undefined;
  if (journal === undefined || !read || !run)
    throw new UsageError(`run ${id} of plan ${name} never recorded its start; there is nothing to bundle`);
  // As `status` and `report` say it: a run that no apply holds is not running.
  if (run.state === 'running') run.state = settled as typeof run.state;
  const plan = planAsApplied(state, id, run.digest, file, loaded);
  const failed = Object.keys(run.services).filter((service) => run.services[service]!.result === 'failed');
  const stages = new Set(
    read.entries.flatMap((entry) =>
      entry.event === 'run.started' || entry.event === 'run.resumed' ? entry.stages.map((s) => s.name) : [],
    ),
  );
  return {
    run,
    journal,
    entries: read.entries,
    verification: await auditText(journalFile, file, io),
    log: readStateFile(runLog(state, id)),
    plan,
    tails: await outputTails(runLog(state, id), failed),
    inbox: [...stages].map((stage) => ({ stage, ...readApprovals(state, id, stage) })),
    versions: { restore: packageVersion(), node: process.version },
  };
}

/**
 * The copies the run kept at its start; for a run made before restore kept them, the plan file,
 * only while it resolves to the digest the run applied (it shows what ran, then).
 */
function planAsApplied(
  state: PlanState,
  id: string,
  digest: string,
  file: string,
  loaded: Loaded | undefined,
): EvidenceSources['plan'] {
  const copy = readPlanCopy(state, id);
  if (copy) return { ...copy, source: 'run-start-copy' };
  const before = `run ${id} was made before restore kept a copy of the plan it applied, and ${file}`;
  if (!loaded) {
    throw new CommandError(
      `${before} cannot be resolved here to compare its digest with the run's (set its variables); nothing was written`,
      EXIT.invalid,
    );
  }
  if (loaded.digest !== digest) {
    throw new CommandError(
      `${before} has changed since (digest ${loaded.digest}, the run applied ${digest}); nothing was written`,
      EXIT.invalid,
    );
  }
  return { text: loaded.text, display: loaded.display, source: 'plan-file' };
}

/** What `restore audit verify` prints for the journal (and its exit status), the path as `journal.jsonl`. */
async function auditText(journalFile: string, planFile: string, io: Io): Promise<string> {
  let text = '';
  const sink = {
    write(chunk: string) {
      text += chunk;
    },
  };
  const capture = redactingIo({ stdout: sink, stderr: sink, env: io.env, cwd: io.cwd, stdin: io.stdin });
  capture.hide(io.redactor.values);
  const code = await runAuditVerify(journalFile, capture, { plan: planFile });
  return `${text.replaceAll(journalFile, 'journal.jsonl')}exit status ${code}\n`;
}

/** `-o` as a file, or a directory (existing, or written with a trailing slash) to put the default name in. */
function outputPath(output: string | undefined, name: string, cwd: string): string {
  if (output === undefined || output === '') return join(cwd, name);
  const path = resolve(cwd, output);
  if (output.endsWith('/')) return join(path, name);
  try {
    if (statSync(path).isDirectory()) return join(path, name);
  } catch {
    // Not there yet: the file to write.
  }
  return path;
}

/**
 * Writes the bundle whole or not at all (writeFileAtomic: a temp file next to it, never through a
 * link, mode 0600, flushed, then renamed over the target). A place that cannot be written is a
 * usage error (2), like an unreadable file; a write that fails on the way (a full disk) is an I/O
 * error (74). Either way, nothing is left behind.
 */
function writeBundle(path: string, data: Buffer): void {
  try {
    writeFileAtomic(path, data);
  } catch (error) {
    const words = `${ioFailed(path, error).message}; nothing was written`;
    // The disk failing under the write is an I/O error; anything else is a place that cannot be written.
    if (WRITE_FAILURES.has(errnoOf(error) ?? '')) throw new CommandError(words, EXIT.ioError);
    throw new UsageError(words);
  }
}

const WRITE_FAILURES = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EFBIG']);

/** `restore evidence verify <file>`: 0 when the bundle holds, 1 naming the first thing that does not. */
export async function runEvidenceVerify(file: string, io: Io): Promise<ExitCode> {
  const data = readNamedFile(file);
  const verdict = await verifyBundle(data);
  if (!verdict.ok) {
    io.stdout.write(`${file}: DOES NOT VERIFY: ${verdict.problem}\n`);
    return EXIT.invalid;
  }
  const torn = verdict.torn ? ' (its last line was cut short by a crash and is not counted)' : '';
  io.stdout.write(
    `${file}: ${verdict.files} files match MANIFEST.sha256, journal.jsonl: ${verdict.journalLines} lines, hash chain intact${torn}\n`,
  );
  return EXIT.ok;
}
