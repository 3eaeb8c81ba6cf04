import { dependencyOn, type ResolvedPlan } from '../../plan/model.js';

/**
 * Graphviz DOT: one cluster per stage, an edge from each dependency to its dependent; a `started`
 * condition labels its edge, an optional dependency's edge is dashed.
 */
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
      const service = plan.services[name]!;
      for (const dep of service.depends_on) {
        if (!(dep in plan.services)) continue;
        const { condition, required } = dependencyOn(service, dep);
        const attrs = [
          ...(condition === 'started' ? ['label="started"'] : []),
          ...(required ? [] : ['style=dashed']),
        ];
        lines.push(`  ${q(dep)} -> ${q(name)}${attrs.length > 0 ? ` [${attrs.join(', ')}]` : ''};`);
      }
    }
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
