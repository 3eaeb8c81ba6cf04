import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import type { ResolvedPlan } from '../plan/model.js';
import type { Timed } from '../run/events.js';

/** What of @opentelemetry/api the spans need at run time: handed in, so that it loads only when a trace is sent. */
export interface TraceApi {
  ROOT_CONTEXT: Context;
  trace: { setSpan(context: Context, span: Span): Context };
  SpanStatusCode: { ERROR: number };
}

interface Open {
  span: Span;
  context: Context;
}

interface OpenService extends Open {
  attempt?: Open;
}

/**
 * The spans of one run, made from its events (docs/observability.md): a root span per run, a
 * child per stage (declared or computed wave), a child of its stage per service, under it one per
 * attempt of the start command, and one per probe round (under the attempt it verifies, or the
 * service for the round before any start). Each span starts and ends at its events' own times,
 * so the trace shows the run as the journal recorded it. The events reach this already redacted
 * (the bus redacts them for every subscriber); `redact` covers what comes from the plan.
 */
export class RunSpans {
  #root: Open | undefined;
  readonly #stages = new Map<string, Open>();
  readonly #services = new Map<string, OpenService>();

  constructor(
    private readonly api: TraceApi,
    private readonly tracer: Tracer,
    private readonly plan: ResolvedPlan,
    private readonly redact: (text: string) => string,
  ) {}

  readonly listener = (event: Timed): void => {
    switch (event.type) {
      case 'run.started':
      case 'run.resumed':
        this.#open(event.time, {
          'restore.plan': event.plan,
          'restore.run': event.run,
          'restore.digest': event.digest,
          'restore.resumed': event.type === 'run.resumed',
          'restore.concurrency': event.concurrency,
        });
        break;
      case 'stage.started':
        this.#stage(event.stage, event.time, {
          'restore.stage': event.stage,
          'restore.stage.index': event.index,
          'restore.services': event.services.length,
        });
        break;
      case 'stage.approved':
        this.#root?.span.addEvent(
          'stage.approved',
          { 'restore.stage': event.stage, 'restore.approver': event.approver, 'restore.via': event.via },
          event.time,
        );
        break;
      case 'run.awaiting-approval':
        this.#root?.span.addEvent('run.awaiting-approval', { 'restore.stage': event.stage }, event.time);
        break;
      case 'stage.finished': {
        const stage = this.#stages.get(event.stage);
        if (!stage) break;
        stage.span.setAttribute('restore.result', event.result);
        if (event.result !== 'succeeded') stage.span.setStatus({ code: this.api.SpanStatusCode.ERROR });
        stage.span.end(event.time);
        this.#stages.delete(event.stage);
        break;
      }
      case 'service.starting': {
        const service = this.#service(event.service, event.stage, event.time);
        this.#endAttempt(service, event.time);
        const span = this.tracer.startSpan(
          `attempt ${event.attempt}`,
          {
            startTime: event.time,
            attributes: {
              ...this.#serviceAttributes(event.service, event.stage),
              'restore.attempt': event.attempt,
              'restore.max_attempts': event.max_attempts,
              'restore.daemon': event.daemon,
              ...(event.command === null ? {} : { 'restore.command': this.redact(event.command) }),
            },
          },
          service.context,
        );
        service.attempt = { span, context: this.api.trace.setSpan(service.context, span) };
        break;
      }
      case 'service.attempt': {
        const attempt = this.#services.get(event.service)?.attempt;
        if (!attempt) break;
        const { record } = event;
        attempt.span.setAttributes({
          'restore.ok': event.ok,
          ...(record.exitCode === null ? {} : { 'restore.exit_code': record.exitCode }),
          ...(record.failure === null ? {} : { 'restore.failure': record.failure }),
          ...(record.service_pid === null ? {} : { 'restore.pid': record.service_pid }),
        });
        if (!event.ok) {
          attempt.span.setStatus({
            code: this.api.SpanStatusCode.ERROR,
            message: this.redact(record.message),
          });
          this.#endAttempt(this.#services.get(event.service)!, event.time);
        }
        break;
      }
      case 'service.probe': {
        const started = event.time - Math.max(0, event.duration_ms);
        const service = this.#service(event.service, event.stage, started);
        const parent = event.phase === 'verify' && service.attempt ? service.attempt : service;
        const span = this.tracer.startSpan(
          `probe round ${event.round}`,
          {
            startTime: started,
            attributes: {
              ...this.#serviceAttributes(event.service, event.stage),
              'restore.round': event.round,
              'restore.phase': event.phase,
              'restore.ok': event.ok,
              'restore.counted': event.counted,
              'restore.checks': event.checks.map(
                (check) => `${check.kind} ${check.target}: ${check.ok ? 'ok' : 'failed'}, ${check.detail}`,
              ),
            },
          },
          parent.context,
        );
        span.end(event.time);
        break;
      }
      case 'service.verified':
        this.#service(event.service, event.stage, event.time).span.addEvent(
          'service.verified',
          { 'restore.before': event.before, 'restore.files': event.files.length },
          event.time,
        );
        break;
      case 'service.healthy':
        this.#endService(event.service, event.stage, event.time, 'healthy', {
          'restore.attempts': event.attempts,
          'restore.rounds': event.rounds,
          ...(event.resumed ? { 'restore.resumed': true } : {}),
        });
        break;
      case 'service.already-healthy':
        this.#endService(event.service, event.stage, event.time, 'already-healthy', {
          'restore.attempts': 0,
        });
        break;
      case 'service.failed':
        this.#endService(
          event.service,
          event.stage,
          event.time,
          'failed',
          {
            'restore.attempts': event.attempts,
            'restore.reason': event.reason,
            'restore.message': event.message,
          },
          event.message,
        );
        break;
      case 'service.blocked':
        this.#endService(event.service, event.stage, event.time, 'blocked', {
          'restore.blocked_by': event.by,
        });
        break;
      case 'service.skipped':
        this.#endService(event.service, event.stage, event.time, 'skipped', { 'restore.why': event.why });
        break;
      case 'service.rolled-back':
        this.#root?.span.addEvent(
          'service.rolled-back',
          { 'restore.service': event.service, 'restore.ok': event.ok, 'restore.message': event.message },
          event.time,
        );
        break;
      case 'run.interrupted':
        this.#root?.span.addEvent('run.interrupted', { 'restore.signal': event.signal }, event.time);
        break;
      case 'run.finished':
        this.#close(event.time, event.result, event.duration_ms);
        break;
      default:
        // Output lines, escaped processes and the like have no span: the run log holds them.
        break;
    }
  };

  /** The root span, once per run (a resumed run is a new trace with the same `restore.run`). */
  #open(time: number, attributes: Attributes): void {
    const span = this.tracer.startSpan(
      `run ${this.plan.name}`,
      { startTime: time, attributes },
      this.api.ROOT_CONTEXT,
    );
    this.#root = { span, context: this.api.trace.setSpan(this.api.ROOT_CONTEXT, span) };
  }

  #stage(name: string, time: number, attributes: Attributes): Open {
    const open = this.#stages.get(name);
    if (open) return open;
    const parent = this.#root?.context ?? this.api.ROOT_CONTEXT;
    const span = this.tracer.startSpan(`stage ${name}`, { startTime: time, attributes }, parent);
    const stage = { span, context: this.api.trace.setSpan(parent, span) };
    this.#stages.set(name, stage);
    return stage;
  }

  /** A service's span, opened at its first step: under its stage, or the run when the stage is not open. */
  #service(name: string, stage: string, time: number): OpenService {
    const open = this.#services.get(name);
    if (open) return open;
    const parent = this.#stages.get(stage)?.context ?? this.#root?.context ?? this.api.ROOT_CONTEXT;
    const span = this.tracer.startSpan(
      `service ${name}`,
      { startTime: time, attributes: this.#serviceAttributes(name, stage) },
      parent,
    );
    const service = { span, context: this.api.trace.setSpan(parent, span) };
    this.#services.set(name, service);
    return service;
  }

  #serviceAttributes(name: string, stage: string): Attributes {
    const hostName = this.plan.services[name]?.host ?? null;
    const host = hostName === null ? undefined : this.plan.hosts[hostName];
    return {
      'restore.plan': this.plan.name,
      'restore.service': name,
      'restore.stage': stage,
      'restore.host': hostName ?? 'local',
      ...(host ? { 'server.address': this.redact(host.address) } : {}),
    };
  }

  #endAttempt(service: OpenService, time: number): void {
    service.attempt?.span.end(time);
    delete service.attempt;
  }

  /** Ends a service's span with its result; one that never had a step (blocked, skipped) is a point in time. */
  #endService(
    name: string,
    stage: string,
    time: number,
    result: string,
    attributes: Attributes,
    error?: string,
  ): void {
    const service = this.#service(name, stage, time);
    if (error !== undefined && service.attempt)
      service.attempt.span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: error });
    this.#endAttempt(service, time);
    service.span.setAttributes({ 'restore.result': result, ...attributes });
    if (error !== undefined) service.span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: error });
    service.span.end(time);
    this.#services.delete(name);
  }

  /** The run's end: what is still open (interrupted in flight) ends with it. */
  #close(time: number, result: string, durationMs: number): void {
    for (const [name, service] of this.#services) {
      this.#endAttempt(service, time);
      service.span.setAttribute('restore.result', 'interrupted');
      service.span.end(time);
      this.#services.delete(name);
    }
    for (const [name, stage] of this.#stages) {
      stage.span.end(time);
      this.#stages.delete(name);
    }
    const root = this.#root;
    if (!root) return;
    root.span.setAttributes({ 'restore.result': result, 'restore.duration_ms': durationMs });
    // Stopped for an approval is no error: the run waits for people, as it should.
    if (result === 'failed' || result === 'interrupted')
      root.span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: result });
    root.span.end(time);
    this.#root = undefined;
  }
}
