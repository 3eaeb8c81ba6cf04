import type { RunSnapshot } from '../../run/state/journal/state.js';
import type { RtoTable } from '../rto.js';
import { rtoJson } from './rto-view.js';

/**
 * `restore report --format json`: the run as its journal tells it, for other tools, and for each
 * object with a target its `rto` (SPEC section 10): top level for the plan, `stages.<name>.rto`,
 * `services.<name>.rto`.
 */
export function renderReportJson(run: RunSnapshot, rto?: RtoTable): string {
  return `${JSON.stringify(withRto(run, rto), null, 2)}\n`;
}

function withRto(run: RunSnapshot, rto: RtoTable | undefined): unknown {
  if (!rto) return run;
  const stages = Object.fromEntries(
    Object.entries(run.stages).map(([name, s]) => {
      const row = rto.stages[name];
      return [name, row ? { ...s, rto: rtoJson(row) } : s];
    }),
  );
  const services = Object.fromEntries(
    Object.entries(run.services).map(([name, s]) => {
      const row = rto.services[name];
      return [name, row ? { ...s, rto: rtoJson(row) } : s];
    }),
  );
  return { ...run, ...(rto.plan ? { rto: rtoJson(rto.plan) } : {}), stages, services };
}
