import { interleave, nodeInvocation, stats } from './measure.js';
import type { BenchResult, Section } from './section.js';

/**
 * Start-up cost of the CLI itself: `restore --version` against a bare `node -e 0`. The ratio of
 * the two medians, not the absolute time, is the target, so the figure means the same on a slow
 * CI runner and a fast laptop.
 */

const MAX_RATIO = 2.0;

export const coldStart: Section = {
  name: 'cold-start',
  description: 'restore --version vs node -e 0 (interleaved)',
  run(context) {
    const baseline = nodeInvocation(context, 'node -e 0', ['-e', '0'], 'node.out');
    const version = nodeInvocation(context, 'restore --version', [context.bin, '--version'], 'version.out');
    context.log(`cold start: 1 warm-up + ${context.runs} interleaved pairs`);
    const [baselineSamples, versionSamples] = interleave([baseline, version], context.runs) as [
      number[],
      number[],
    ];
    const base = result(baseline.label, baselineSamples);
    const cli = result(version.label, versionSamples);
    const ratio: BenchResult = {
      section: coldStart.name,
      name: 'version / node (ratio of medians)',
      unit: 'ratio',
      median: cli.median / base.median,
      target: { op: '<=', value: MAX_RATIO },
    };
    return [base, cli, ratio];
  },
};

function result(name: string, samples: number[]): BenchResult {
  return { section: coldStart.name, name, unit: 'ms', ...stats(samples), samples };
}
