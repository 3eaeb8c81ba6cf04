import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateLayeredDag, generateLayeredPlan } from './generate.js';
import { interleave, nodeInvocation, stats } from './measure.js';
import type { BenchResult, Section } from './section.js';

/**
 * Orchestration overhead of `restore apply`: a 400-service DAG (20 layers of 20, two
 * dependencies each) whose commands are `true`, at concurrency 4, against the floor for a Node
 * program (bench/baseline/spawn-dag.mjs: bare child_process.spawn in dependency order, same
 * concurrency, output piped) and against `make -j4` on the same DAG. All three interleaved.
 */

const SHAPE = { layers: 20, width: 20, depsPerService: 2, seed: 7, health: false } as const;
const SERVICES = SHAPE.layers * SHAPE.width;
const MAX_RATIO = 1.25;

export const applyOverhead: Section = {
  name: 'apply-overhead',
  description: `apply of a ${SERVICES}-service DAG of \`true\` vs a bare spawn script and make -j4`,
  run(context) {
    const plan = join(context.tmpDir, 'overhead.yaml');
    writeFileSync(plan, generateLayeredPlan(SHAPE));
    const dag = generateLayeredDag(SHAPE);
    const dagFile = join(context.tmpDir, 'overhead.json');
    writeFileSync(dagFile, JSON.stringify(dag.map((node) => ({ ...node, argv: ['true'] }))));
    const makefile = join(context.tmpDir, 'overhead.mk');
    writeFileSync(makefile, makefileOf(dag));
    const stateDir = join(context.tmpDir, 'overhead-state');

    const restore = nodeInvocation(
      context,
      'restore apply',
      [context.bin, 'apply', plan, '--concurrency', '4', '--state-dir', stateDir],
      'overhead-restore.out',
    );
    const bare = nodeInvocation(
      context,
      'bare spawn script',
      [join(context.root, 'bench', 'baseline', 'spawn-dag.mjs'), dagFile, '4'],
      'overhead-bare.out',
    );
    const make = {
      label: 'make -j4',
      command: 'make',
      args: ['-s', '-j4', '-f', makefile],
      cwd: context.tmpDir,
      stdoutFile: join(context.tmpDir, 'overhead-make.out'),
    };
    context.log(`apply overhead: 1 warm-up + ${context.runs} interleaved runs of each`);
    const [restoreSamples, bareSamples, makeSamples] = interleave([restore, bare, make], context.runs) as [
      number[],
      number[],
      number[],
    ];
    rmSync(stateDir, { recursive: true, force: true });

    const row = (name: string, samples: number[]): BenchResult => ({
      section: applyOverhead.name,
      name,
      unit: 'ms',
      ...stats(samples),
      samples,
    });
    const results = [
      row(`restore apply (${SERVICES} services)`, restoreSamples),
      row('bare spawn script (floor)', bareSamples),
      row('make -j4', makeSamples),
    ];
    const [r, b, m] = results.map((x) => x.median) as [number, number, number];
    return [
      ...results,
      ratio('restore / bare spawn', r / b, MAX_RATIO),
      ratio('restore / make -j4', r / m),
      ratio('bare spawn / make -j4', b / m),
    ];
  },
};

function ratio(name: string, value: number, max?: number): BenchResult {
  return {
    section: applyOverhead.name,
    name: `${name} (ratio of medians)`,
    unit: 'ratio',
    median: value,
    ...(max === undefined ? {} : { target: { op: '<=' as const, value: max } }),
  };
}

function makefileOf(dag: { name: string; deps: string[] }[]): string {
  const names = dag.map((node) => node.name);
  const rules = dag.map((node) => `${node.name}: ${node.deps.join(' ')}\n\t@true\n`);
  return `all: ${names.join(' ')}\n${rules.join('')}.PHONY: all ${names.join(' ')}\n`;
}
