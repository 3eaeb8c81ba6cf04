import type { ResolvedPlan } from '../../plan/model.js';

/** Graphviz DOT: one cluster per stage, an edge from each dependency to its dependent. */
export function renderPlanDot(plan: ResolvedPlan): string {
  const q = (text: string) => JSON.stringify(text);
  const lines = [`digraph ${q(plan.name)} {`, '  rankdir=LR;', '  node [shape=box];'];
  plan.stages.forEach((stage, s) => {
    lines.push(`  subgraph ${q(`cluster_${s + 1}`)} {`);
    lines.push(`    label=${q(`${s + 1}. ${stage.name}${stage.approval ? ' (approval)' : ''}`)};`);
    for (const name of stage.services) lines.push(`    ${q(name)};`);
    lines.push('  }');
  });
  for (const stage of plan.stages) {
    for (const name of stage.services) {
      for (const dep of plan.services[name]!.depends_on) {
        if (dep in plan.services) lines.push(`  ${q(dep)} -> ${q(name)};`);
      }
    }
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
