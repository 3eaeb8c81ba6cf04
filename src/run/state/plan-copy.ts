import { join } from 'node:path';
import type { LoadedPlan } from '../../plan/load.js';
import type { ResolvedPlan } from '../../plan/model.js';
import type { Redactor } from '../redact.js';
import type { PlanState } from './state-dir.js';
import { readStateFile, writeFileAtomic } from './state-files.js';

/**
 * The plan a run applied, kept next to its journal at run start (`runs/<run-id>.plan.yaml`, the
 * file's text, and `runs/<run-id>.plan.json`, the resolved plan its digest was taken over), so
 * that `restore evidence` shows what ran even after the plan file was edited, and without the
 * environment its variables came from. A resumed run keeps the copies of its start: the journal's
 * `run.resumed` records the digest it went on with.
 */
export const planCopyFile = (state: PlanState, run: string) => join(state.runsDir, `${run}.plan.yaml`);
export const resolvedCopyFile = (state: PlanState, run: string) => join(state.runsDir, `${run}.plan.json`);

/**
 * Writes both copies, each atomically (temp file, fsync, rename; never through a link), mode
 * 0600. Redacted as everything restore writes: a secret's value written literally in the plan
 * becomes `[REDACTED]` in the copy (the resolved plan already names secrets as `${NAME}`).
 */
export function keepPlanCopy(state: PlanState, run: string, loaded: LoadedPlan, redactor: Redactor): void {
  if (loaded.text !== undefined) writeFileAtomic(planCopyFile(state, run), redactor.text(loaded.text));
  writeFileAtomic(resolvedCopyFile(state, run), `${JSON.stringify(redactor.deep(loaded.display))}\n`);
}

/** The copies a run kept, or undefined for one made before restore kept them. */
export function readPlanCopy(
  state: PlanState,
  run: string,
): { text: string | undefined; display: ResolvedPlan } | undefined {
  const resolved = readStateFile(resolvedCopyFile(state, run));
  if (resolved === undefined) return undefined;
  return { text: readStateFile(planCopyFile(state, run)), display: JSON.parse(resolved) as ResolvedPlan };
}

/**
 * The plan a run is judged against (its RTO targets): the copy it kept at its start, else, for a
 * run made before restore kept copies, the plan file as it is now. Editing a target after a run
 * does not re-judge that run.
 */
export function appliedPlan(state: PlanState, run: string, current: ResolvedPlan): ResolvedPlan {
  return readPlanCopy(state, run)?.display ?? current;
}
