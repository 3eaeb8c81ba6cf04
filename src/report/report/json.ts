import type { RunSnapshot } from '../../run/state/journal/state.js';

/** `restore report --format json`: the run as its journal tells it, for other tools. */
export function renderReportJson(run: RunSnapshot): string {
  return `${JSON.stringify(run, null, 2)}\n`;
}
