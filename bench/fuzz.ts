import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describeFindings, type FuzzFigures, findingCount, fuzzCli, fuzzInProcess } from './fuzz-run.js';
import type { BenchContext, BenchResult, Section } from './section.js';

/**
 * The fuzzer as a figure of the project: FUZZ_PLANS generated and mutated plans (default 100,000)
 * through `validate` and `plan` in-process, and FUZZ_CLI runs (default 2,000) of the real
 * `bin/restore.js`. Every finding count must be 0. FUZZ_SEED replays a run (default: the time).
 */

function envCount(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got "${raw}"`);
  return value;
}

export const fuzz: Section = {
  name: 'fuzz',
  description: 'generated and mutated plans through validate and plan, in-process and via the CLI',
  // About half an hour at the default counts; CI runs its seeded share in the tests instead.
  optIn: true,
  async run(context) {
    const seed = envCount('FUZZ_SEED', Date.now() % 2 ** 31);
    const plans = envCount('FUZZ_PLANS', 100_000);
    const cliRuns = envCount('FUZZ_CLI', 2_000);
    context.log(
      `fuzz: seed ${seed} (FUZZ_SEED=${seed} replays this run), ${plans} plans in-process, ${cliRuns} CLI runs`,
    );
    const dir = join(context.tmpDir, 'fuzz');
    mkdirSync(dir, { recursive: true });
    const inProcess = await fuzzInProcess({
      seed,
      count: plans,
      dir,
      progress: (done, so) =>
        context.log(
          `fuzz: ${done} plans in-process, ${Math.round(so.wallMs)} ms, findings ${JSON.stringify(so.findings)}`,
        ),
    });
    report(context, 'in-process', inProcess);
    const cli = await fuzzCli({
      seed,
      runs: cliRuns,
      dir,
      node: context.node,
      bin: context.bin,
      progress: (done, so) => context.log(`fuzz: ${done} CLI runs, findings ${JSON.stringify(so.findings)}`),
    });
    report(context, 'CLI', cli);
    return [...figures('in-process', inProcess), ...figures('cli', cli)];
  },
};

function report(context: BenchContext, label: string, result: FuzzFigures): void {
  context.log(
    `fuzz ${label}: seed ${result.seed}, ${result.plans} plans, ${result.runs} runs in ${(result.wallMs / 1000).toFixed(1)} s; exit codes ${JSON.stringify(result.exits)}; findings ${JSON.stringify(result.findings)}`,
  );
  if (findingCount(result) > 0) context.log(`fuzz ${label} findings:\n${describeFindings(result)}`);
}

function figures(label: string, result: FuzzFigures): BenchResult[] {
  const count = (name: string, value: number, zero = false): BenchResult => ({
    section: 'fuzz',
    name: `${label} ${name}`,
    unit: 'count',
    median: value,
    ...(zero ? { target: { op: '<', value: 1 } } : {}),
  });
  return [
    count(`plans (seed ${result.seed})`, result.plans),
    count('runs', result.runs),
    { section: 'fuzz', name: `${label} wall time`, unit: 'ms', median: result.wallMs },
    count('stack traces', result.findings['stack-trace'], true),
    count('exit codes outside 0,1,2', result.findings['exit-code'], true),
    count('hangs over 10 s', result.findings.hang, true),
    count('unparseable JSON', result.findings['bad-json'], true),
  ];
}
