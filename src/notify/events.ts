import { JOURNAL_EVENT_TYPES } from '../run/state/journal/format.js';

/**
 * The events a sink may be sent: every event the journal records (SPEC section 12: "`events` are
 * journal event names"), but `notify.failed`, which tells of a notification that did not arrive
 * and would otherwise be sent to the sink that failed it. An event added to the journal is
 * notifiable from then on, with nothing to change here.
 */
export const NOTIFY_EVENTS: readonly string[] = JOURNAL_EVENT_TYPES.filter(
  (name) => name !== 'notify.failed',
);

/**
 * What a sink is sent when `events` is left out: what people in a channel act on (a run starting
 * or going on, each stage, a gate waiting for someone, a failure, the end), not every probe round
 * or healthy service of a large plan.
 */
export const DEFAULT_NOTIFY_EVENTS: readonly string[] = [
  'run.started',
  'run.resumed',
  'stage.started',
  'stage.finished',
  'stage.waiting-approval',
  'run.awaiting-approval',
  'service.failed',
  'run.interrupted',
  'run.finished',
];
