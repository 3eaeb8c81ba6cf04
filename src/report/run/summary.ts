import type { Listener, ServiceSummary } from '../../run/events.js';
import { formatElapsed } from '../../util/duration.js';
import { alignColumns, type Colors } from '../style.js';
import { RESULT_WORDS } from './words.js';

/** The table at the end of a run: service, stage, result, attempts, duration; then the total. */
export function renderSummary(
  services: Record<string, ServiceSummary>,
  order: readonly string[],
  totalMs: number,
  c: Colors,
): string {
  const paint = (result: ServiceSummary['result'], text: string) =>
    result === 'healthy' || result === 'already-healthy'
      ? c.green(text)
      : result === 'failed' || result === 'blocked'
        ? c.red(text)
        : c.yellow(text);
  const rows = [['SERVICE', 'STAGE', 'RESULT', 'ATTEMPTS', 'DURATION'].map((h) => c.bold(h))];
  for (const name of order) {
    const s = services[name];
    if (!s) continue;
    rows.push([
      name,
      s.stage,
      paint(s.result, RESULT_WORDS[s.result]),
      String(s.attempts),
      formatElapsed(s.duration_ms),
    ]);
  }
  const all = Object.values(services);
  const up = all.filter((s) => s.result === 'healthy' || s.result === 'already-healthy').length;
  const lines = alignColumns(rows);
  // Why each failure happened, under the table: the lines above may have scrolled away.
  const why = order.filter((name) => services[name]?.reason !== undefined);
  if (why.length > 0) lines.push('', ...why.map((name) => `${c.red(name)}: ${services[name]!.reason}`));
  lines.push('', `${up} of ${all.length} services healthy; total restoration time ${formatElapsed(totalMs)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The summary as a subscriber: `run.finished` carries every service's result and the run's
 * duration as the journal records them, so the table is written the moment the run ends, under
 * what the view showed (a blank line between). `order`: the plan's services in stage order; the
 * events list only the selected stages, and the table has a row for every service of the plan.
 */
export function summaryListener(
  write: (text: string) => void,
  order: readonly string[],
  c: Colors,
): Listener {
  return (event) => {
    if (event.type === 'run.finished')
      write(`\n${renderSummary(event.services, order, event.duration_ms, c)}`);
  };
}
