import { join } from 'node:path';
import { OVERHEAD_SHAPE, writeDagOfTrue } from './apply-overhead.js';
import { interleave, nodeInvocation, stats } from './measure.js';
import type { BenchResult, Section } from './section.js';

/**
 * What each execa@9 option costs per command: the apply-overhead DAG (400 commands of `true`)
 * run one command at a time by bench/baseline/execa-dag.mjs with each set of options, against the
 * same loop with bare child_process.spawn, interleaved. The difference over 400 is the cost one
 * command pays for execa and for the option. Behind the choice of options in execa-dag.mjs.
 */

const COMMANDS = OVERHEAD_SHAPE.layers * OVERHEAD_SHAPE.width;
const VARIANTS = [
  'cheapest',
  'defaults',
  'buffer-on',
  'cleanup-on',
  'no-group',
  'force-kill-on',
  'encoding-buffer',
] as const;

export const execaOptions: Section = {
  name: 'execa-options',
  description: `per-command cost of execa@9 options against bare spawn (${COMMANDS} commands, one at a time)`,
  optIn: true,
  run(context) {
    const dagFile = writeDagOfTrue(context.tmpDir);
    const baseline = join(context.root, 'bench', 'baseline');
    const spawn = nodeInvocation(
      context,
      'bare spawn',
      [join(baseline, 'spawn-dag.mjs'), dagFile, '1'],
      'options-spawn.out',
    );
    const variants = VARIANTS.map((variant) =>
      nodeInvocation(
        context,
        `execa ${variant}`,
        [join(baseline, 'execa-dag.mjs'), dagFile, '1', variant],
        `options-${variant}.out`,
      ),
    );
    context.log(
      `execa options: 1 warm-up + ${context.runs} interleaved runs of ${variants.length + 1} loops`,
    );
    const [spawnSamples, ...variantSamples] = interleave([spawn, ...variants], context.runs) as number[][];
    const floor = stats(spawnSamples!).median;
    const results: BenchResult[] = [
      { section: execaOptions.name, name: 'bare spawn, 400 commands', unit: 'ms', ...stats(spawnSamples!) },
    ];
    VARIANTS.forEach((variant, index) => {
      const samples = variantSamples[index]!;
      const median = stats(samples).median;
      results.push(
        { section: execaOptions.name, name: `execa ${variant}, 400 commands`, unit: 'ms', ...stats(samples) },
        {
          section: execaOptions.name,
          name: `execa ${variant}: extra per command over spawn`,
          unit: 'us',
          median: ((median - floor) / COMMANDS) * 1000,
        },
      );
    });
    return results;
  },
};
