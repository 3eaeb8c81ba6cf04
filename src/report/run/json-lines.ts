import type { Listener } from '../../run/events.js';
import { LEVEL, levelOf } from '../../run/log-level.js';

/**
 * `--log-format json`: one JSON object per event on stdout, nothing else there, shaped as the run
 * log's lines (pino's `level`, `time` in epoch milliseconds, `run`, the event's fields, and `msg`:
 * the event's name, or the output line), so one parser reads both. Service output lines are
 * included with `--verbose` only, as in the human views.
 */
export function jsonLinesRenderer(write: (text: string) => void, verbose: boolean): Listener {
  let run: string | undefined;
  return (event) => {
    if (event.type === 'run.started' || event.type === 'run.resumed') run = event.run;
    if (event.type === 'service.output' && !verbose) return;
    const { time, type, ...rest } = event;
    const fields: Record<string, unknown> = rest;
    // Every line carries the run once, first (run.started has it among its fields too).
    delete fields.run;
    const msg = event.type === 'service.output' ? event.line : type;
    if (event.type === 'service.output') delete fields.line;
    write(
      `${JSON.stringify({ level: LEVEL[levelOf(event)], time, ...(run ? { run } : {}), event: type, ...fields, msg })}\n`,
    );
  };
}
