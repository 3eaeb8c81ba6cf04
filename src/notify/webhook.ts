import type { Timed } from '../run/events.js';
import type { NotifyContext, Told } from './message.js';

/**
 * The body a `webhook:` sink gets: the fields a receiver files a message under (plan, run, stage,
 * service, result, duration), a one-line `summary` for people, `next` when someone must act, and
 * the event itself as the journal records it (`details`). The event has been redacted on the bus
 * already; the whole body is redacted again before it leaves (notifier.ts).
 */
export function webhookBody(event: Timed, told: Told, ctx: NotifyContext): string {
  const { type, time, ...details } = event;
  return JSON.stringify({
    source: 'restore',
    event: type,
    time: new Date(time).toISOString(),
    plan: ctx.plan.name,
    run: ctx.run,
    stage: told.stage,
    service: told.service,
    result: told.result,
    duration_ms: told.duration_ms,
    summary: told.summary,
    next: told.next,
    details,
  });
}

/** `restore notify test`: a message of its own kind, shaped as every other. */
export function webhookTestBody(ctx: NotifyContext, summary: string): string {
  return JSON.stringify({
    source: 'restore',
    event: 'notify.test',
    time: new Date().toISOString(),
    plan: ctx.plan.name,
    run: null,
    stage: null,
    service: null,
    result: null,
    duration_ms: null,
    summary,
    next: null,
    details: {},
  });
}
