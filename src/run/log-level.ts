import type { RunEvent } from './events.js';

/**
 * pino's numeric levels, as the run log and `--log-format json` write them. Numbers rather than
 * labels: they are pino's default, which pino-pretty's `--minimumLevel` filter compares (a label
 * never compares below a number, so `-L warn` would show everything), and which Loki's and
 * Elasticsearch's pino integrations map without configuration.
 */
export const LEVEL = { info: 30, warn: 40 } as const;

/**
 * The level of an event's line: a service that failed, was blocked or warned of, output lost,
 * or a notification not delivered, is a warning.
 */
export function levelOf(event: Pick<RunEvent, 'type'>): keyof typeof LEVEL {
  return event.type === 'service.failed' ||
    event.type === 'service.blocked' ||
    event.type === 'service.warning' ||
    event.type === 'run.output-lost' ||
    event.type === 'notify.failed'
    ? 'warn'
    : 'info';
}
