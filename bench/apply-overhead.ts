import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateLayeredDag, generateLayeredPlan } from './generate.js';
import { interleave, nodeInvocation, stats } from './measure.js';
import type { BenchResult, Section } from './section.js';

/**
 * Orchestration overhead of `restore apply`: a 400-service DAG (20 layers of 20, two
 * dependencies each) whose commands are `true`, at concurrency 4, against two floors for a Node
 * program running the same DAG in dependency order at the same concurrency, output piped and
 * read: bare child_process.spawn (bench/baseline/spawn-dag.mjs) and execa@9, the design's way of
 * starting a command, with its cheapest options (bench/baseline/execa-dag.mjs); and against
 * `make -j4`. All four interleaved. The target is on restore / bare execa: what restore adds to
 * the package it starts commands with.
 */

export const OVERHEAD_SHAPE = { layers: 20, width: 20, depsPerService: 2, seed: 7, health: false } as const;
const SERVICES = OVERHEAD_SHAPE.layers * OVERHEAD_SHAPE.width;
const MAX_RATIO = 1.25;

export const applyOverhead: Section = {
  name: 'apply-overhead',
  description: `apply of a ${SERVICES}-service DAG of \`true\` vs bare spawn and execa scripts and make -j4`,
  run(context) {
    const plan = join(context.tmpDir, 'overhead.yaml');
    writeFileSync(plan, generateLayeredPlan(OVERHEAD_SHAPE));
    const dag = generateLayeredDag(OVERHEAD_SHAPE);
    const dagFile = writeDagOfTrue(context.tmpDir);
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
    const execa = nodeInvocation(
      context,
      'bare execa script',
      [join(context.root, 'bench', 'baseline', 'execa-dag.mjs'), dagFile, '4'],
      'overhead-execa.out',
    );
    const make = {
      label: 'make -j4',
      command: 'make',
      args: ['-s', '-j4', '-f', makefile],
      cwd: context.tmpDir,
      stdoutFile: join(context.tmpDir, 'overhead-make.out'),
    };
    context.log(`apply overhead: 1 warm-up + ${context.runs} interleaved runs of each`);
    const [restoreSamples, bareSamples, execaSamples, makeSamples] = interleave(
      [restore, bare, execa, make],
      context.runs,
    ) as [number[], number[], number[], number[]];
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
      row('bare execa script (floor with execa)', execaSamples),
      row('make -j4', makeSamples),
    ];
    const [r, b, e, m] = results.map((x) => x.median) as [number, number, number, number];
    return [
      ...results,
      ratio('restore / bare execa', r / e, MAX_RATIO),
      ratio('restore / bare spawn', r / b),
      ratio('bare execa / bare spawn', e / b),
      ratio('restore / make -j4', r / m),
      ratio('bare spawn / make -j4', b / m),
    ];
  },
};

/** The DAG as JSON for the bare scripts, every command `true`; returns the file. */
export function writeDagOfTrue(dir: string): string {
  const file = join(dir, 'overhead.json');
  const dag = generateLayeredDag(OVERHEAD_SHAPE);
  writeFileSync(file, JSON.stringify(dag.map((node) => ({ ...node, argv: ['true'] }))));
  return file;
}

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
