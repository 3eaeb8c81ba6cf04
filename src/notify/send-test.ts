import type { ResolvedPlan } from '../plan/model.js';
import { originOf } from '../plan/notify.js';
import { Redactor } from '../run/redact.js';
import { deliver } from './delivery.js';
import type { NotifyContext } from './message.js';
import { slackBody } from './slack.js';
import { webhookTestBody } from './webhook.js';

/** What `restore notify test` found for one sink. */
export interface SinkTest {
  /** Its place in `notify:`, from 0. */
  sink: number;
  kind: 'webhook' | 'slack';
  /** The URL's origin; null for a sink that is off. */
  target: string | null;
  /** `off`: its URL is empty (`${NAME:-}`, NAME unset), so nothing was sent. */
  state: 'delivered' | 'failed' | 'off';
  status: number | null;
  tries: number;
  error: string | null;
  duration_ms: number;
}

/**
 * Sends one test message to every sink of the plan at once, with the delivery a run uses (the
 * same tries, bounds and headers), and says how each went. Nothing else is sent.
 */
export async function testSinks(
  plan: ResolvedPlan,
  file: string,
  secrets: readonly string[],
  signal: AbortSignal,
): Promise<SinkTest[]> {
  const redactor = new Redactor(secrets);
  const ctx: NotifyContext = { plan, file, run: null };
  return Promise.all(
    (plan.notify ?? []).map(async (sink, index): Promise<SinkTest> => {
      const base = { sink: index, kind: sink.kind, status: null, error: null, tries: 0, duration_ms: 0 };
      if (sink.url === '') return { ...base, target: null, state: 'off' };
      const summary = `${plan.name}: test message from restore notify test; this sink is sent ${sink.events.join(', ')}`;
      const body =
        sink.kind === 'slack'
          ? slackBody(
              {
                summary,
                next: null,
                tone: 'info',
                stage: null,
                service: null,
                result: null,
                duration_ms: null,
              },
              ctx,
              'notify.test',
            )
          : webhookTestBody(ctx, summary);
      const started = Date.now();
      const result = await deliver(
        { url: sink.url, headers: sink.headers, body: redactor.text(body) },
        signal,
      );
      return {
        ...base,
        target: originOf(sink.url),
        state: result.ok ? 'delivered' : 'failed',
        status: result.ok ? result.status : null,
        tries: result.tries,
        error: result.ok ? null : result.error,
        duration_ms: Date.now() - started,
      };
    }),
  );
}
