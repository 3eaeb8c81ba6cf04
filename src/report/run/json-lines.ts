import type { Listener } from '../../run/events.js';

/**
 * `--log-format json`: one JSON object per event on stdout, nothing else there. Service output
 * lines are included with `--verbose` only, as in the human views.
 */
export function jsonLinesRenderer(write: (text: string) => void, verbose: boolean): Listener {
  return (event) => {
    if (event.type === 'service.output' && !verbose) return;
    const { time, type, ...rest } = event;
    write(`${JSON.stringify({ time: new Date(time).toISOString(), event: type, ...rest })}\n`);
  };
}
