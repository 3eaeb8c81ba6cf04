import { dependencyOn, type ResolvedPlan } from '../../plan/model.js';

/**
 * A Mermaid flowchart of the plan: one subgraph per stage, an arrow from each dependency to its
 * dependent (the order things start). Nodes get positional ids, so no name can break the syntax.
 * A `started` condition labels its arrow; an optional dependency's arrow is dotted.
 */
export function renderPlanMermaid(plan: ResolvedPlan): string {
  const ids = new Map<string, string>();
  const lines = ['flowchart LR'];
  plan.stages.forEach((stage, s) => {
    const label = `${s + 1}. ${stage.name}${stage.approval ? ' (approval)' : ''}`;
    lines.push(`  subgraph stage${s + 1}["${label}"]`);
    for (const name of stage.services) {
      const id = `s${ids.size + 1}`;
      ids.set(name, id);
      lines.push(`    ${id}["${name}"]`);
    }
    lines.push('  end');
  });
  for (const stage of plan.stages) {
    for (const name of stage.services) {
      const service = plan.services[name]!;
      for (const dep of service.depends_on) {
        const from = ids.get(dep);
        if (!from) continue;
        const { condition, required } = dependencyOn(service, dep);
        const arrow = required ? '-->' : '-.->';
        const label = condition === 'started' ? '|started|' : '';
        lines.push(`  ${from} ${arrow}${label} ${ids.get(name)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
