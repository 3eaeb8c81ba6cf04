import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateFlatPlan } from './generate.js';
import { runWatched } from './processes.js';
import type { BenchContext, BenchResult, Section } from './section.js';

/**
 * Peak memory of `apply` (restore and its spawner helper, each its own process): with 2,000
 * one-shot services, and with one service printing 300 MB of output, which must stream through
 * to the run log without being held in memory.
 */

const MAX_MIB = 100;
const OUTPUT_MB = 300;

export const applyMemory: Section = {
  name: 'apply-memory',
  description: `peak RSS of apply: 2,000 one-shot services; one service printing ${OUTPUT_MB} MB`,
  async run(context) {
    const many = join(context.tmpDir, 'memory-2000.yaml');
    writeFileSync(many, generateFlatPlan(2000).replace(/ {4}health:\n {6}- tcp: \{ port: \d+ \}\n/g, ''));
    context.log('memory: apply of 2,000 one-shot services');
    const first = await apply(context, many, 'memory-2000-state');

    const loud = join(context.tmpDir, 'memory-loud.yaml');
    // 100-byte lines, written as fast as the pipe takes them.
    const script = `const line = 'x'.repeat(99) + '\\n'; const block = line.repeat(10000); let left = ${OUTPUT_MB};
      const write = () => { while (left > 0) { left -= 1; if (!process.stdout.write(block)) { process.stdout.once('drain', write); return; } } };
      write();`;
    writeFileSync(
      loud,
      JSON.stringify({
        version: 1,
        name: 'loud',
        services: { loud: { start: [context.node, '-e', script], timeout: '10m' } },
      }),
    );
    context.log(`memory: apply of one service printing ${OUTPUT_MB} MB`);
    const second = await apply(context, loud, 'memory-loud-state');

    return [
      ...rows('2,000 one-shot services', first),
      ...rows(`one service printing ${OUTPUT_MB} MB`, second),
    ];
  },
};

async function apply(context: BenchContext, plan: string, state: string) {
  const watched = await runWatched(
    context.node,
    [context.bin, 'apply', plan, '--state-dir', join(context.tmpDir, state)],
    context.tmpDir,
  );
  if (watched.code !== 0) throw new Error(`apply of ${plan} failed (exit ${watched.code})`);
  return watched;
}

function rows(label: string, watched: Awaited<ReturnType<typeof apply>>): BenchResult[] {
  const row = (name: string, value: number, unit: 'ms' | 'MiB', target?: number): BenchResult => ({
    section: applyMemory.name,
    name,
    unit,
    median: value,
    ...(target === undefined ? {} : { target: { op: '<' as const, value: target } }),
  });
  return [
    row(`${label}: restore peak RSS`, watched.restoreMiB, 'MiB', MAX_MIB),
    row(`${label}: spawner helper peak RSS`, watched.helperMiB, 'MiB', MAX_MIB),
    row(`${label}: wall time`, watched.wallMs, 'ms'),
  ];
}
