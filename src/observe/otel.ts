import type { ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ResolvedPlan } from '../plan/model.js';
import type { ObserverWarning, RunObserver } from './observer.js';
import { type OtlpTarget, shownUrl } from './otlp-config.js';
import { RunSpans } from './trace-spans.js';

/**
 * The longest the end of a run waits for its trace to be sent: an endpoint that does not answer
 * costs the run this, once, and never its exit (docs/observability.md).
 */
export const OTLP_FLUSH_MS = 5_000;

/** Spans sent together while the run goes on: a long run's trace is not held whole in memory. */
const BATCH = 512;

export interface TraceOptions {
  target: OtlpTarget;
  plan: ResolvedPlan;
  /** `service.name` of the trace's resource; OTEL_SERVICE_NAME, else `restore`. */
  serviceName: string;
  version: string;
  redact: (text: string) => string;
}

/**
 * A run's trace, sent over OTLP/HTTP (JSON) with the official OpenTelemetry SDK, which loads
 * here and only here: a run without a trace never reads it from disk.
 */
export async function traceObserver(options: TraceOptions): Promise<RunObserver> {
  const [api, { BasicTracerProvider }, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all(
    [
      import('@opentelemetry/api'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ],
  );
  // Headers come from OTEL_EXPORTER_OTLP_HEADERS / _TRACES_HEADERS, read by the exporter as the
  // specification says. No keep-alive: a socket left open would hold the process after the run.
  const exporter = new OTLPTraceExporter({
    url: options.target.url,
    timeoutMillis: OTLP_FLUSH_MS,
    keepAlive: false,
  });
  const sender = new SpanSender(exporter);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': options.serviceName,
      'service.version': options.version,
    }),
    spanProcessors: [sender],
  });
  const tracer = provider.getTracer('restore', options.version);
  const spans = new RunSpans(api, tracer, options.plan, options.redact);
  return {
    listener: spans.listener,
    async finish() {
      const failure = await sender.drain(OTLP_FLUSH_MS);
      await withinMs(exporter.shutdown(), 500);
      if (failure === undefined) return [];
      const warning: ObserverWarning = {
        source: 'otlp',
        message: options.redact(
          `sending the run's trace to ${shownUrl(options.target.url)} (${options.target.from}) failed: ${failure}; the run itself is not affected`,
        ),
      };
      return [warning];
    },
  };
}

/**
 * Sends ended spans in batches, one request at a time, and remembers the first failure: after
 * it, the rest of the trace is dropped rather than sent to an endpoint that just failed (each
 * try would cost up to its timeout), and the run's end says so once.
 */
class SpanSender implements SpanProcessor {
  #batch: ReadableSpan[] = [];
  #sending: Promise<void> = Promise.resolve();
  #failure: string | undefined;

  constructor(private readonly exporter: SpanExporter) {}

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    this.#batch.push(span);
    if (this.#batch.length >= BATCH) this.#send();
  }

  async forceFlush(): Promise<void> {
    this.#send();
    await this.#sending;
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
  }

  /** Sends what is left and waits for every request, at most `ms`; returns the failure, if any. */
  async drain(ms: number): Promise<string | undefined> {
    this.#send();
    if (!(await withinMs(this.#sending, ms))) this.#failure ??= `no answer within ${ms / 1000} s`;
    return this.#failure;
  }

  #send(): void {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#sending = this.#sending.then(() => (this.#failure === undefined ? this.#export(batch) : undefined));
  }

  #export(batch: ReadableSpan[]): Promise<void> {
    return new Promise((resolve) => {
      this.exporter.export(batch, (result) => {
        // ExportResultCode.SUCCESS is 0 (@opentelemetry/core, not a dependency of restore's own).
        if (result.code !== 0) this.#failure ??= describe(result.error);
        resolve();
      });
    });
  }
}

function describe(error: Error | undefined): string {
  if (!error) return 'the endpoint refused it';
  const code = (error as NodeJS.ErrnoException).code;
  const message = error.message.trim() || error.name;
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

/**
 * Whether `promise` settled within `ms`. The timer holds the process on purpose: with nothing
 * else pending, an unreferenced one would let Node exit in the middle of the run's end.
 */
async function withinMs(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
