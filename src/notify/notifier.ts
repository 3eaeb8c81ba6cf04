import { setTimeout as sleep } from 'node:timers/promises';
import type { ResolvedNotifySink, ResolvedPlan } from '../plan/model.js';
import { originOf } from '../plan/notify.js';
import type { EventBus, Timed } from '../run/events.js';
import { Redactor } from '../run/redact.js';
import { DELIVERY, type DeliveryPolicy, deliver } from './delivery.js';
import { type NotifyContext, type Told, tell } from './message.js';
import { slackBody } from './slack.js';
import { webhookBody } from './webhook.js';

/**
 * How long the end of a run waits for messages still on their way (run.finished, mostly): they
 * usually arrive within milliseconds; a dead or hanging receiver costs the run this, at most,
 * after its result is settled and shown. An interrupted run (Ctrl-C) waits less: whoever pressed
 * it wants the prompt back.
 */
export const GRACE_MS = 5_000;
export const INTERRUPTED_GRACE_MS = 1_000;

/** Messages waiting for one sink beyond this are dropped (a receiver far behind, a huge plan). */
const MAX_PENDING = 100;

export interface NotifierOptions {
  plan: ResolvedPlan;
  /** The plan file as given: the commands in messages name it. */
  file: string;
  bus: EventBus;
  /** Every value to hide (the plan's secrets and the sinks' URLs and headers). */
  secrets: readonly string[];
  graceMs?: number;
  policy?: DeliveryPolicy;
}

/** The notification sinks of a run: subscribers of its bus, with their own delivery queues. */
export interface Notifier {
  /**
   * After `run.finished`: waits for what is still being delivered, at most the grace (shorter
   * when `signal` is already aborted, cut short when it aborts), then gives up on the rest, each
   * message given up a `notify.failed`. Nothing is emitted after it returns.
   */
  finish(signal: AbortSignal): Promise<void>;
  /** Stops every delivery at once, emitting nothing more (a run that ended by an error). */
  close(): void;
}

interface Message {
  notified: string;
  body: () => string;
}

/**
 * Subscribes the plan's sinks (SPEC section 12) to the run's bus. Delivery is asynchronous, one
 * message at a time per sink (a channel reads them in order), never awaited by the run: the
 * listener only queues a body. A message not delivered is a `notify.failed` event, which the
 * journal and the run log record as a warning, and that is all it is.
 */
export async function startNotifier(options: NotifierOptions): Promise<Notifier> {
  const { plan, bus } = options;
  const policy = options.policy ?? DELIVERY;
  const redactor = new Redactor(options.secrets);
  const stop = new AbortController();
  const ctx: NotifyContext = { plan, file: options.file, run: null };
  let closed = false;

  const fail = (queue: SinkQueue, notified: string, tries: number, error: string) => {
    if (closed) return;
    bus.emit({
      type: 'notify.failed',
      sink: queue.index,
      kind: queue.sink.kind,
      target: originOf(queue.sink.url),
      notified,
      tries,
      error,
    });
  };
  const send = async (queue: SinkQueue, message: Message) => {
    const result = await deliver(
      { url: queue.sink.url, headers: queue.sink.headers, body: message.body() },
      stop.signal,
      policy,
    );
    if (!result.ok)
      fail(
        queue,
        message.notified,
        result.tries,
        result.ended ? `${result.error}; given up when the run ended` : result.error,
      );
  };
  const drop = (queue: SinkQueue, message: Message) => fail(queue, message.notified, 0, dropped());
  // A sink whose URL is empty (`${NAME:-}`, NAME unset) is off.
  const queues = (plan.notify ?? []).flatMap((sink, index) =>
    sink.url === '' ? [] : [new SinkQueue(sink, index, send, drop)],
  );

  bus.subscribe((event: Timed) => {
    if (event.type === 'run.started' || event.type === 'run.resumed') ctx.run = event.run;
    if (closed || event.type === 'notify.failed') return;
    let told: Told | undefined;
    // Words and bodies are made when a message's turn comes, off the run's own steps: the
    // listener only queues. The run id is the one of this moment.
    const at = { ...ctx };
    for (const queue of queues) {
      if (!queue.events.has(event.type)) continue;
      queue.push({
        notified: event.type,
        body: () => {
          told ??= tell(event, at);
          const body =
            queue.sink.kind === 'slack' ? slackBody(told, at, event.type) : webhookBody(event, told, at);
          // The event was redacted on the bus; what the message adds (the plan file's name in a
          // command, a summary) is redacted with it here.
          return redactor.text(body);
        },
      });
    }
  });

  return {
    async finish(signal: AbortSignal) {
      const grace = signal.aborted ? INTERRUPTED_GRACE_MS : (options.graceMs ?? GRACE_MS);
      const timer = new AbortController();
      const waited = AbortSignal.any([timer.signal, ...(signal.aborted ? [] : [signal])]);
      await Promise.race([
        Promise.all(queues.map((queue) => queue.idle())),
        sleep(grace, undefined, { signal: waited }).catch(() => {}),
      ]);
      timer.abort();
      // What is still in flight or queued fails fast now, each with its notify.failed.
      stop.abort();
      const settled = new AbortController();
      await Promise.race([
        Promise.all(queues.map((queue) => queue.idle())),
        sleep(1_000, undefined, { signal: settled.signal }).catch(() => {}),
      ]);
      settled.abort();
      closed = true;
    },
    close() {
      closed = true;
      stop.abort();
    },
  };
}

function dropped(): string {
  return `dropped: more than ${MAX_PENDING} messages were waiting for this sink`;
}

/** One sink's messages, delivered one after another in the order the events happened. */
class SinkQueue {
  readonly events: ReadonlySet<string>;
  readonly #pending: Message[] = [];
  #draining: Promise<void> | undefined;

  constructor(
    readonly sink: ResolvedNotifySink,
    readonly index: number,
    private readonly send: (queue: SinkQueue, message: Message) => Promise<void>,
    private readonly drop: (queue: SinkQueue, message: Message) => void,
  ) {
    this.events = new Set(sink.events);
  }

  push(message: Message): void {
    this.#pending.push(message);
    if (this.#pending.length > MAX_PENDING) this.drop(this, this.#pending.shift()!);
    this.#draining ??= this.#drain();
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    return this.#draining ?? Promise.resolve();
  }

  async #drain(): Promise<void> {
    // Sending starts on a later turn of the event loop: the step that emitted the event (the
    // next service starting) goes on first, not after a request has been set up.
    await new Promise((resolve) => setImmediate(resolve));
    for (let message = this.#pending.shift(); message; message = this.#pending.shift()) {
      await this.send(this, message);
    }
    this.#draining = undefined;
  }
}
