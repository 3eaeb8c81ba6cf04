import { closest } from '../util/closest.js';
import type { Result } from '../util/result.js';
import { err, ok } from '../util/result.js';
import { withDependencies } from './graph.js';
import type { ResolvedPlan } from './model.js';

/**
 * `--only a,b`: the named services and everything they depend on. Stages keep their order and
 * names (computed waves are not renumbered); stages left empty are dropped.
 */
export function selectServices(plan: ResolvedPlan, only: readonly string[]): Result<ResolvedPlan, string> {
  const names = Object.keys(plan.services);
  for (const name of only) {
    if (!(name in plan.services)) {
      const guess = closest(name, names);
      return err(
        `--only: no service "${name}" in plan ${plan.name}${guess ? ` (did you mean "${guess}"?)` : ''}`,
      );
    }
  }
  const deps = new Map(names.map((name) => [name, plan.services[name]!.depends_on]));
  const keep = withDependencies(deps, only);
  return ok({
    ...plan,
    stages: plan.stages
      .map((stage) => ({ ...stage, services: stage.services.filter((name) => keep.has(name)) }))
      .filter((stage) => stage.services.length > 0),
    services: Object.fromEntries(Object.entries(plan.services).filter(([name]) => keep.has(name))),
  });
}

/** Parses a `--only` value: comma-separated names, blanks ignored. */
export function parseOnly(values: readonly string[]): string[] {
  return values
    .flatMap((value) => value.split(','))
    .map((name) => name.trim())
    .filter((name) => name !== '');
}
