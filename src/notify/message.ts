import { quote } from 'shlex';
import type { ResolvedPlan } from '../plan/model.js';
import type { Timed } from '../run/events.js';
import { formatElapsed } from '../util/duration.js';

/** What a sink knows of the run beyond the event: the plan, how it was asked for, the run id. */
export interface NotifyContext {
  plan: ResolvedPlan;
  /** The plan file as `apply` was given it: the commands a message suggests name it. */
  file: string;
  /** From `run.started` / `run.resumed`; null before either. */
  run: string | null;
}

/**
 * An event told for people: what happened (`summary`, one line), what comes next or who must act
 * (`next`), and the fields a receiver files it under. Both sinks build on it: the webhook sends it
 * with the event, Slack formats it for a channel.
 */
export interface Told {
  summary: string;
  next: string | null;
  tone: 'good' | 'bad' | 'waiting' | 'info';
  stage: string | null;
  service: string | null;
  result: string | null;
  duration_ms: number | null;
}

/**
 * The words for one event. Events without words of their own (added to the journal later, or
 * too fine-grained to be notified by default) get a plain line naming them: a new event is
 * notifiable the day it is journaled, and is told better once it has its case here.
 */
export function tell(event: Timed, ctx: NotifyContext): Told {
  const told = base(event);
  const plan = ctx.plan.name;
  const file = quote(ctx.file);
  const resume = `restore apply ${file} --resume`;
  switch (event.type) {
    case 'run.started': {
      const count = event.stages.reduce((sum, stage) => sum + stage.services.length, 0);
      const first = event.stages[0];
      return {
        ...told,
        tone: 'info',
        summary: `${plan}: restoration started, ${plural(count, 'service')} in ${plural(event.stages.length, 'stage')} (run ${event.run})`,
        next: first ? `stage ${first.name}${first.approval ? ', which needs approval' : ''}` : null,
      };
    }
    case 'run.resumed':
      return { ...told, tone: 'info', summary: `${plan}: run ${event.run} resumed` };
    case 'stage.started':
      return {
        ...told,
        tone: 'info',
        summary: `${plan}: stage ${event.stage} (${event.index}/${event.count}) started: ${event.services.join(', ')}`,
      };
    case 'stage.finished': {
      const index = ctx.plan.stages.findIndex((stage) => stage.name === event.stage);
      const following = index >= 0 ? ctx.plan.stages[index + 1] : undefined;
      const ok = event.result === 'succeeded';
      return {
        ...told,
        tone: ok ? 'good' : 'bad',
        summary: `${plan}: stage ${event.stage} ${event.result}`,
        next: !ok
          ? 'later stages do not start'
          : following
            ? `stage ${following.name}${following.approval ? ', which needs approval' : ''}`
            : 'the end of the run',
      };
    }
    case 'stage.approved':
      return {
        ...told,
        tone: 'good',
        summary: `${plan}: stage ${event.stage} approved by ${event.approver}${event.comment ? `: ${event.comment}` : ''}`,
      };
    case 'stage.waiting-approval': {
      const more = event.approvers - event.approvals;
      return {
        ...told,
        tone: 'waiting',
        summary: `${plan}: stage ${event.stage} waits for ${plural(more, `${event.signed ? 'signed ' : ''}approval`)}${event.from ? ` from ${event.from.join(', ')}` : ''} (${event.approvals} of ${event.approvers} given)`,
        next: `approve with: restore approve ${file} --stage ${event.stage}${event.signed ? ' --sign-with KEY' : ''}`,
      };
    }
    case 'run.awaiting-approval':
      return {
        ...told,
        tone: 'waiting',
        summary: `${plan}: stopped before stage ${event.stage} (${plural(event.services, 'service')}), which needs approval`,
        next: approvalNext(ctx, event.stage, file),
      };
    case 'service.healthy':
      return {
        ...told,
        tone: 'good',
        summary: `${plan}: ${event.service} healthy in ${formatElapsed(event.duration_ms)} (stage ${event.stage})`,
      };
    case 'service.already-healthy':
      return { ...told, tone: 'good', summary: `${plan}: ${event.service} already healthy, not started` };
    case 'service.failed': {
      const critical = ctx.plan.services[event.service]?.critical !== false;
      return {
        ...told,
        tone: 'bad',
        summary: `${plan}: ${event.service} FAILED in stage ${event.stage} after ${plural(event.attempts, 'attempt')} (${formatElapsed(event.duration_ms)}): ${event.message}`,
        next: critical
          ? 'it is critical: what depends on it is blocked, nothing new starts, the run halts'
          : 'it is not critical: what depends on it is blocked, the rest goes on',
      };
    }
    case 'service.blocked':
      return {
        ...told,
        tone: 'bad',
        summary: `${plan}: ${event.service} blocked by ${event.by}, not started`,
      };
    case 'service.rolled-back':
      return { ...told, tone: 'info', summary: `${plan}: ${event.service} rolled back: ${event.message}` };
    case 'run.interrupted':
      return {
        ...told,
        tone: 'bad',
        summary: `${plan}: interrupted by ${event.signal}; in-flight commands are stopped`,
        next: `continue with: ${resume}`,
      };
    case 'run.finished':
      return { ...told, ...finished(event, ctx, file) };
    default:
      return told;
  }
}

/** The fields every event has, and a plain line for those without words of their own. */
function base(event: Timed): Told {
  const fields = event as unknown as Record<string, unknown>;
  const text = (key: string) => (typeof fields[key] === 'string' ? (fields[key] as string) : null);
  const service = text('service');
  const stage = text('stage');
  return {
    summary: `${event.type}${service ? ` ${service}` : stage ? ` ${stage}` : ''}`,
    next: null,
    tone: 'info',
    stage,
    service,
    result: resultOf(event),
    duration_ms: typeof fields.duration_ms === 'number' ? fields.duration_ms : null,
  };
}

/** The result an event settles, if it settles one. */
function resultOf(event: Timed): string | null {
  switch (event.type) {
    case 'run.finished':
    case 'stage.finished':
      return event.result;
    case 'service.healthy':
    case 'service.already-healthy':
    case 'service.failed':
    case 'service.blocked':
    case 'service.skipped':
    case 'service.rolled-back':
      return event.type.slice('service.'.length);
    default:
      return null;
  }
}

function finished(
  event: Timed & { type: 'run.finished' },
  ctx: NotifyContext,
  file: string,
): Pick<Told, 'summary' | 'next' | 'tone'> {
  const plan = ctx.plan.name;
  const all = Object.entries(event.services);
  const up = all.filter(([, s]) => s.result === 'healthy' || s.result === 'already-healthy').length;
  const counted = `${up} of ${all.length} services healthy in ${formatElapsed(event.duration_ms)}`;
  const named = (result: string) => all.filter(([, s]) => s.result === result).map(([name]) => name);
  switch (event.result) {
    case 'succeeded':
      return { tone: 'good', summary: `${plan}: restored, ${counted}`, next: null };
    case 'failed': {
      const failed = named('failed');
      const blocked = named('blocked');
      const why = [
        failed.length > 0 ? `failed: ${failed.join(', ')}` : '',
        blocked.length > 0 ? `blocked: ${blocked.join(', ')}` : '',
      ].filter(Boolean);
      return {
        tone: 'bad',
        summary: `${plan}: restoration FAILED, ${counted}${why.length > 0 ? `; ${why.join('; ')}` : ''}`,
        next: `fix the cause, then continue with: restore apply ${file} --resume`,
      };
    }
    case 'interrupted':
      return {
        tone: 'bad',
        summary: `${plan}: restoration interrupted, ${counted}`,
        next: `continue with: restore apply ${file} --resume`,
      };
    case 'awaiting-approval':
      return {
        tone: 'waiting',
        summary: `${plan}: waiting for approval of stage ${event.awaiting ?? '?'}, ${counted}`,
        next: approvalNext(ctx, event.awaiting ?? '', file),
      };
  }
}

/** Who must approve a stage, and the commands that go on: what a channel needs to act on. */
function approvalNext(ctx: NotifyContext, stage: string, file: string): string {
  const rule = ctx.plan.stages.find((s) => s.name === stage)?.approval_rule;
  if (!rule || (rule.approvers === 1 && !rule.signed && rule.from === null))
    return `anyone may approve: restore apply ${file} --resume --approve ${stage}`;
  const who = rule.from ? ` from ${rule.from.join(', ')}` : '';
  return (
    `${plural(rule.approvers, `${rule.signed ? 'signed ' : ''}approval`)} needed${who}: ` +
    `each runs restore approve ${file} --stage ${stage}${rule.signed ? ' --sign-with KEY' : ''}, ` +
    `then restore apply ${file} --resume`
  );
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
