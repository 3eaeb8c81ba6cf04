import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { applyMemory } from './apply-memory.js';
import { applyOverhead } from './apply-overhead.js';
import { applyTiming } from './apply-timing.js';
import { coldStart } from './cold-start.js';
import { durability } from './durability.js';
import { execaOptions } from './execa-options.js';
import { fuzz } from './fuzz.js';
import { integrity } from './integrity.js';
import { planModel } from './plan-model.js';
import { probeRoundBench } from './probe-round.js';
import { type BenchReport, machine, renderJson, renderText, type SectionFailure } from './report.js';
import { type BenchContext, type BenchResult, type Section, selectSections } from './section.js';
import { sshReuse } from './ssh-reuse.js';

/**
 * `npm run bench`: `node dist/bench/run.js [--json] [section...]`. Benchmarks report, they do not
 * gate: a missed target prints MISSED and still exits 0. Exit 1 means a benchmark could not run
 * (a command failed), exit 2 a usage error.
 */

/** Every section, in the order they run. A new section is one file plus one line here. */
const SECTIONS: readonly Section[] = [
  planModel,
  coldStart,
  applyOverhead,
  applyTiming,
  applyMemory,
  durability,
  sshReuse,
  execaOptions,
  integrity,
  fuzz,
  probeRoundBench,
];

const DEFAULT_RUNS = 7;

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCli(argv);
  if (typeof parsed === 'string') {
    process.stderr.write(`bench: ${parsed}\n${usage()}`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(usage());
    return 0;
  }
  const tmpDir = mkdtempSync(join(tmpdir(), 'restore-bench-'));
  try {
    const ctx = context(tmpDir, parsed.runs);
    // Taken before the sections run, so that the load figure is not our own.
    const host = machine();
    const report: BenchReport = {
      machine: host,
      runs: ctx.runs,
      ...(await runSections(parsed.sections, ctx)),
    };
    process.stdout.write(parsed.json ? renderJson(report) : renderText(report));
    return report.failures.length > 0 ? 1 : 0;
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

interface CliOptions {
  sections: Section[];
  json: boolean;
  help: boolean;
  runs: number;
}

/** The options, or the message of a usage error. */
function parseCli(argv: readonly string[]): CliOptions | string {
  let values: { json?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    return (error as Error).message;
  }
  const unknown = positionals.filter((name) => !SECTIONS.some((section) => section.name === name));
  if (unknown.length > 0) return `unknown section(s): ${unknown.join(', ')}`;
  const runs = runsFromEnv(process.env.BENCH_RUNS);
  if (typeof runs === 'string') return runs;
  const sections = selectSections(SECTIONS, positionals);
  return { sections, json: values.json ?? false, help: values.help ?? false, runs };
}

function runsFromEnv(raw: string | undefined): number | string {
  if (raw === undefined || raw === '') return DEFAULT_RUNS;
  const runs = Number(raw);
  return Number.isInteger(runs) && runs >= 1 ? runs : `BENCH_RUNS must be a positive integer, got "${raw}"`;
}

function context(tmpDir: string, runs: number): BenchContext {
  // run.js is compiled to dist/bench/, two levels below the repository root.
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const bin = join(root, 'bin', 'restore.js');
  if (!existsSync(join(root, 'dist', 'bundle', 'main.js'))) {
    throw new Error('dist/bundle is missing: run `npm run build` first (npm run bench does)');
  }
  return {
    root,
    bin,
    node: process.execPath,
    tmpDir,
    runs,
    log: (message) => process.stderr.write(`bench: ${message}\n`),
  };
}

/** Runs each section; one that fails is recorded and the others still run. */
async function runSections(
  sections: readonly Section[],
  ctx: BenchContext,
): Promise<Pick<BenchReport, 'results' | 'failures'>> {
  const results: BenchResult[] = [];
  const failures: SectionFailure[] = [];
  for (const section of sections) {
    ctx.log(`section ${section.name}: ${section.description}`);
    try {
      results.push(...(await section.run(ctx)));
    } catch (error) {
      failures.push({ section: section.name, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return { results, failures };
}

function usage(): string {
  const names = SECTIONS.map(
    (section) =>
      `  ${section.name.padEnd(14)} ${section.description}${section.optIn ? ' (only when named)' : ''}`,
  );
  return [
    'usage: node dist/bench/run.js [--json] [section...]   (default: every section not marked "only when named")',
    '',
    'sections:',
    ...names,
    '',
    `env: BENCH_RUNS  timed runs per benchmark (default ${DEFAULT_RUNS}); the median is reported`,
    '',
  ].join('\n');
}

process.exitCode = await main(process.argv.slice(2));
