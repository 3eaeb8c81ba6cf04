import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Streams } from '../src/cli/io.js';
import { main } from '../src/cli/main.js';
import { fuzzPlanText } from './fuzz-plans.js';

/**
 * The fuzzer: generated and mutated plans (bench/fuzz-plans.ts) through `validate` and `plan`,
 * in-process (the CLI's own `main`, output captured) and through the real `bin/restore.js`.
 * A finding is any of: a stack trace or "internal error" on stderr, an exit code outside the
 * SPEC's 0, 1, 2, a run over 10 s, or stdout of `--format json` that is not JSON.
 */

export const HANG_MS = 10_000;
const SPEC_EXIT_CODES = new Set([0, 1, 2]);
/** Plans are generated in batches of this many, each from its own seed derived from the run's. */
const BATCH = 500;

export type FindingKind = 'stack-trace' | 'exit-code' | 'hang' | 'bad-json';

export interface Finding {
  kind: FindingKind;
  args: string[];
  detail: string;
  /** The plan text, to reproduce. */
  input: string;
}

export interface FuzzFigures {
  seed: number;
  /** Plans generated. */
  plans: number;
  /** Commands run (each plan goes through validate and plan). */
  runs: number;
  /** Exit codes seen, by code. */
  exits: Record<string, number>;
  findings: Record<FindingKind, number>;
  /** The first findings in full, to reproduce. */
  examples: Finding[];
  wallMs: number;
}

/** The command lines a plan goes through: validate and plan, every format in turn. */
function commands(index: number, file: string): string[][] {
  const validate = ['text', 'json', 'github'][index % 3]!;
  const plan = ['text', 'json', 'markdown', 'mermaid', 'dot'][index % 5]!;
  return [
    ['validate', '--format', validate, file],
    ['plan', file, '--format', plan],
  ];
}

/** The plans of a run, batch by batch, the same for the same seed. */
function* plans(seed: number, count: number): Generator<string> {
  for (let start = 0; start < count; start += BATCH) {
    const size = Math.min(BATCH, count - start);
    yield* fc.sample(fuzzPlanText, { numRuns: size, seed: (seed + start) | 0 });
  }
}

function emptyFigures(seed: number): FuzzFigures {
  return {
    seed,
    plans: 0,
    runs: 0,
    exits: {},
    findings: { 'stack-trace': 0, 'exit-code': 0, hang: 0, 'bad-json': 0 },
    examples: [],
    wallMs: 0,
  };
}

/** Judges one command's outcome; returns what it found. */
function judge(
  args: string[],
  code: number | null,
  stdout: string,
  stderr: string,
  elapsedMs: number,
): { kind: FindingKind; detail: string }[] {
  const found: { kind: FindingKind; detail: string }[] = [];
  // A Node warning ("(node:123) Warning: ...") is a crash's cousin: output outside any format.
  if (/internal error|\n {4}at |^\s+at .+:\d+:\d+|\(node:\d+\) \w*Warning/m.test(stderr)) {
    found.push({ kind: 'stack-trace', detail: stderr.slice(0, 2000) });
  }
  if (elapsedMs > HANG_MS) found.push({ kind: 'hang', detail: `${Math.round(elapsedMs)} ms` });
  else if (code === null || !SPEC_EXIT_CODES.has(code))
    found.push({ kind: 'exit-code', detail: `exit ${code}` });
  // `--format json` prints JSON only on stdout (SPEC 3, Output): `validate` always (an array,
  // empty when valid), `plan` its preview when the plan is valid; a plan that cannot be shown
  // leaves stdout empty and says why on stderr.
  const mustBeJson = args[0] === 'validate' ? code === 0 || code === 1 : code === 0 || stdout !== '';
  if (args.includes('json') && mustBeJson && elapsedMs <= HANG_MS) {
    try {
      JSON.parse(stdout);
    } catch (error) {
      found.push({ kind: 'bad-json', detail: `${(error as Error).message}: ${stdout.slice(0, 200)}` });
    }
  }
  return found;
}

function record(
  figures: FuzzFigures,
  input: string,
  args: string[],
  code: number | null,
  stdout: string,
  stderr: string,
  elapsedMs: number,
): void {
  figures.runs += 1;
  const key = String(code);
  figures.exits[key] = (figures.exits[key] ?? 0) + 1;
  for (const finding of judge(args, code, stdout, stderr, elapsedMs)) {
    figures.findings[finding.kind] += 1;
    if (figures.examples.length < 10) figures.examples.push({ ...finding, args, input });
  }
}

/** Every plan through the CLI's `main` in this process, output captured. */
export async function fuzzInProcess(options: {
  seed: number;
  count: number;
  dir: string;
  progress?: (done: number, figures: FuzzFigures) => void;
}): Promise<FuzzFigures> {
  const started = performance.now();
  const figures = emptyFigures(options.seed);
  const file = join(options.dir, 'fuzz-plan.yaml');
  for (const input of plans(options.seed, options.count)) {
    writeFileSync(file, input);
    for (const args of commands(figures.plans, file)) {
      let stdout = '';
      let stderr = '';
      const io: Streams = {
        stdout: {
          write: (text) => {
            stdout += text;
          },
        },
        stderr: {
          write: (text) => {
            stderr += text;
          },
        },
        env: { NO_COLOR: '1' },
        cwd: options.dir,
        stdin: process.stdin,
      };
      const t0 = performance.now();
      let code: number | null;
      try {
        code = await main(args, io);
      } catch (error) {
        // main never throws; if it does, that is a crash the user would see.
        code = null;
        stderr += `\n${(error as Error).stack ?? String(error)}`;
      }
      record(figures, input, args, code, stdout, stderr, performance.now() - t0);
    }
    figures.plans += 1;
    if (figures.plans % 1000 === 0) {
      figures.wallMs = performance.now() - started;
      options.progress?.(figures.plans, figures);
    }
  }
  figures.wallMs = performance.now() - started;
  return figures;
}

/** Plans through the real `bin/restore.js`, `concurrency` processes at a time, each killed after 10 s. */
export async function fuzzCli(options: {
  seed: number;
  /** CLI runs; each plan gives two (validate and plan). */
  runs: number;
  dir: string;
  node: string;
  bin: string;
  concurrency?: number;
  progress?: (done: number, figures: FuzzFigures) => void;
}): Promise<FuzzFigures> {
  const started = performance.now();
  const figures = emptyFigures(options.seed);
  const jobs: { input: string; file: string; args: string[] }[] = [];
  let index = 0;
  for (const input of plans(options.seed, Math.ceil(options.runs / 2))) {
    const file = join(options.dir, `fuzz-${index}.yaml`);
    writeFileSync(file, input);
    // Validate and plan, each with text and json, in turn.
    const format = index % 2 === 0 ? 'text' : 'json';
    jobs.push({ input, file, args: ['validate', '--format', format, file] });
    jobs.push({ input, file, args: ['plan', file, '--format', format === 'text' ? 'json' : 'text'] });
    index += 1;
  }
  jobs.length = options.runs;
  figures.plans = index;
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      const result = await runOnce(options.node, [options.bin, ...job.args], options.dir);
      record(figures, job.input, job.args, result.code, result.stdout, result.stderr, result.elapsedMs);
      if (figures.runs % 100 === 0) options.progress?.(figures.runs, figures);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 2 }, worker));
  figures.wallMs = performance.now() - started;
  return figures;
}

function runOnce(
  node: string,
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string; elapsedMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(node, args, {
      cwd,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, RESTORE_DEBUG: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), HANG_MS + 500);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, elapsedMs: performance.now() - t0 });
    });
  });
}

/** Total findings of a run. */
export function findingCount(figures: FuzzFigures): number {
  return Object.values(figures.findings).reduce((sum, n) => sum + n, 0);
}

/** The first findings, readable, for a failure message or the bench log. */
export function describeFindings(figures: FuzzFigures): string {
  return figures.examples
    .map(
      (f) =>
        `${f.kind} on \`${f.args.join(' ')}\`: ${f.detail}\n  input: ${JSON.stringify(f.input).slice(0, 600)}`,
    )
    .join('\n');
}
