import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateFlatPlan, generateLayeredPlan } from './generate.js';
import { type Invocation, nodeInvocation, stats, timeRuns } from './measure.js';
import type { BenchContext, BenchResult, Section } from './section.js';

/**
 * Parsing, validation, resolution and rendering of a large plan: `validate` and `plan --format
 * json` on 5,000 services (50 layers of 100, two dependencies each), each a cold process, within
 * 400 and 500 ms, so that CI on a big fleet's plan stays interactive.
 */

const SHAPE = { layers: 50, width: 100, depsPerService: 2, seed: 42 } as const;
const SERVICES = SHAPE.layers * SHAPE.width;
const VALIDATE_BUDGET_MS = 400;
const PLAN_BUDGET_MS = 500;

export const planModel: Section = {
  name: 'plan-model',
  description: `validate and plan --format json on a ${SERVICES.toLocaleString('en-US')}-service plan`,
  run(context) {
    const plan = writePlan(context, `layered-${SERVICES}.yaml`, generateLayeredPlan(SHAPE));
    const tiny = writePlan(context, 'flat-1.yaml', generateFlatPlan(1));
    // No target: the fixed cost (start-up, module loading) that every plan pays, so that the
    // per-service part of the large runs can be read off by difference.
    // No target either: Node's own start-up, so that a loaded machine shows in the figures.
    const node = nodeInvocation(context, 'node -e 0', ['-e', '0'], 'node.out');
    const fixed = nodeInvocation(context, 'validate', [context.bin, 'validate', tiny], 'validate-1.out');
    const validate = nodeInvocation(context, 'validate', [context.bin, 'validate', plan], 'validate.out');
    const json = nodeInvocation(
      context,
      'plan json',
      [context.bin, 'plan', plan, '--format', 'json'],
      'plan.json',
    );
    context.log(`node -e 0: 1 warm-up + ${context.runs} runs`);
    const nodeSamples = timeRuns(node, context.runs);
    const results: BenchResult[] = [
      { section: planModel.name, name: 'node -e 0', unit: 'ms', ...stats(nodeSamples), samples: nodeSamples },
      measure(context, fixed, 1),
      measure(context, validate, SERVICES, VALIDATE_BUDGET_MS),
      measure(context, json, SERVICES, PLAN_BUDGET_MS),
    ];
    // A fast run that printed the wrong thing would be a meaningless figure.
    checkPlanJson(json.stdoutFile);
    return results;
  },
};

function writePlan(context: BenchContext, name: string, text: string): string {
  const file = join(context.tmpDir, name);
  writeFileSync(file, text);
  return file;
}

function measure(context: BenchContext, run: Invocation, services: number, budget?: number): BenchResult {
  const name = `${run.label} (${services} service${services === 1 ? '' : 's'})`;
  context.log(`${name}: 1 warm-up + ${context.runs} runs`);
  const samples = timeRuns(run, context.runs);
  return {
    section: planModel.name,
    name,
    unit: 'ms',
    ...stats(samples),
    samples,
    ...(budget === undefined ? {} : { target: { op: '<' as const, value: budget } }),
  };
}

function checkPlanJson(file: string): void {
  const output = JSON.parse(readFileSync(file, 'utf8')) as { stages: { services: unknown[] }[] };
  const services = output.stages.reduce((sum, stage) => sum + stage.services.length, 0);
  if (output.stages.length !== SHAPE.layers || services !== SERVICES) {
    throw new Error(
      `plan --format json printed ${output.stages.length} stages and ${services} services; ` +
        `expected ${SHAPE.layers} and ${SERVICES}`,
    );
  }
}
