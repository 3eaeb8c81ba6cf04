import { quote } from 'shlex';
import { formatCommand } from '../../plan/command-text.js';
import {
  dependencyOn,
  type ResolvedApproval,
  type ResolvedCheck,
  type ResolvedCommand,
  type ResolvedFailureBudget,
  type ResolvedHealth,
  type ResolvedHost,
  type ResolvedNotifySink,
  type ResolvedPlan,
  type ResolvedService,
  type ResolvedVerify,
} from '../../plan/model.js';
import type { LiveStatus } from '../../run/engine/live.js';
import { formatDuration } from '../../util/duration.js';
import { hostPort } from '../../util/host-port.js';

/**
 * Words shared by the human renderers of a plan (text and markdown): a reviewer must see the exact
 * argv boundaries, so commands are shown shell-quoted.
 */

/** What a plan preview renders: the display form of the plan (secrets as `${NAME}`) and its digest. */
export interface PlanView {
  /** The plan file as the user named it. */
  file: string;
  plan: ResolvedPlan;
  digest: string;
  /** The names given with `--only`, if any. */
  only: string[];
  /** With `plan --live`: what one probe round found, per service. */
  live?: Record<string, LiveStatus>;
}

export { formatCommand };

/** One line for a live status: `healthy: would be skipped`. */
export function describeLive(status: LiveStatus): string {
  const note = status.note !== undefined ? ` (${status.note})` : '';
  if (!status.probed) return 'no checks: would be started';
  if (!status.healthy) return `not healthy: ${status.detail}${note}`;
  return status.would_skip
    ? `healthy: would be skipped${note}`
    : `healthy, but skip_if_healthy is false: would be started${note}`;
}

/** Modifiers of a command other than its argv and env: `daemon, cwd /srv, timeout 30s`. */
export function commandTraits(command: ResolvedCommand): string[] {
  const traits: string[] = [];
  if (command.daemon) traits.push('daemon');
  if (command.cwd !== null) traits.push(`cwd ${command.cwd}`);
  if (command.timeout_ms !== null) traits.push(`timeout ${formatDuration(command.timeout_ms)}`);
  return traits;
}

/** Environment a command adds, as `KEY=value` words (values shell-quoted). */
export function envWords(env: Record<string, string>): string[] {
  return Object.entries(env).map(([key, value]) => `${key}=${quote(value)}`);
}

export function describeCheck(check: ResolvedCheck): string {
  switch (check.kind) {
    case 'http': {
      const status = typeof check.status === 'string' ? check.status : check.status.join('|');
      const parts = [`http ${check.method} ${check.url} -> ${status}`];
      if (check.body_contains !== null) parts.push(`body contains ${JSON.stringify(check.body_contains)}`);
      if (check.body_matches !== null) parts.push(`body matches /${check.body_matches}/`);
      const headers = Object.keys(check.headers);
      if (headers.length > 0) parts.push(`headers ${headers.join(', ')}`);
      if (check.insecure) parts.push('any TLS certificate');
      return parts.join(', ');
    }
    case 'tcp':
      return `tcp ${hostPort(check.host, check.port)}`;
    case 'exec':
      return `exec ${formatCommand(check.command)}`;
    case 'grpc':
      return `grpc ${hostPort(check.host, check.port)}${check.tls ? ' over TLS' : ''} serving ${check.service === '' ? '(server)' : JSON.stringify(check.service)}`;
    case 'tls':
      return `tls ${hostPort(check.host, check.port)} name ${check.servername}, trusted by ${check.ca ?? 'system roots'}, valid ${check.min_days}+ days`;
    case 'dns':
      return `dns ${check.type} ${check.name}${check.expect ? ` = ${check.expect.join(', ')}` : ''}${check.server ? ` via ${check.server}` : ''}`;
    case 'postgres': {
      const login = `${check.user ?? '(current user)'}@${hostPort(check.host, check.port)}/${check.database}`;
      return `postgres ${login}${check.password_env !== null ? `, password from $${check.password_env}` : ''}`;
    }
    case 'redis':
      return `redis ${hostPort(check.host, check.port)}${check.password_env !== null ? `, password from $${check.password_env}` : ''}`;
    case 'log':
      return `log line matches /${check.matches}/`;
  }
}

/** One `verify:` item in one line, its digest in full: a reviewer compares it with the release's. */
export function describeVerify(item: ResolvedVerify): string {
  switch (item.kind) {
    case 'file':
      return `file ${item.file} sha256 ${item.sha256}`;
    case 'manifest':
      return `manifest ${item.manifest} sha256 ${item.sha256}, and every file it lists`;
    case 'signed':
      return `signed ${item.signed} by ${item.identity} (signature ${item.signature}, allowed_signers ${item.allowed_signers}, namespace ${item.namespace})`;
  }
}

/** The probing schedule in one line. */
export function describeTiming(health: ResolvedHealth): string {
  const d = formatDuration;
  const gap =
    health.start_interval_ms < health.interval_ms
      ? `every ${d(health.start_interval_ms)} doubling to ${d(health.interval_ms)}`
      : `every ${d(health.interval_ms)}`;
  const parts = [
    `rounds ${gap}`,
    `check timeout ${d(health.timeout_ms)}`,
    `healthy after ${health.success_threshold} passing`,
    `failed after ${health.retries} failing`,
  ];
  if (health.start_period_ms > 0) parts.push(`failures in the first ${d(health.start_period_ms)} ignored`);
  return parts.join(', ');
}

/** Deadline, retries and flags of a service, in one line. */
export function describeService(service: ResolvedService): string {
  const parts = [`deadline ${formatDuration(service.timeout_ms)}`];
  parts.push(
    service.retries > 0
      ? `${service.retries} retr${service.retries === 1 ? 'y' : 'ies'} after ${formatDuration(service.retry_delay_ms)}`
      : 'no retries',
  );
  if (!service.critical) parts.push('not critical');
  if (!service.skip_if_healthy) parts.push('always started');
  if (service.rto_ms !== undefined) parts.push(`RTO ${formatDuration(service.rto_ms)}`);
  return parts.join(', ');
}

/** The plan's RTO target in words (SPEC section 10), or nothing when it sets none. */
export function planRtoWords(plan: ResolvedPlan): string {
  return plan.rto_ms === undefined
    ? ''
    : `RTO ${formatDuration(plan.rto_ms)} from the run's start to the last service healthy, approval waits included`;
}

/** Counts for headers: `2 stages, 5 services`. */
export function countWords(plan: ResolvedPlan): string {
  const stages = plan.stages.length;
  const services = plan.stages.reduce((sum, stage) => sum + stage.services.length, 0);
  return `${stages} stage${stages === 1 ? '' : 's'}, ${services} service${services === 1 ? '' : 's'}`;
}

/** A host as ssh would be pointed at it: `ops@10.0.0.5:22 (db-1)`. */
export function describeHost(host: ResolvedHost | undefined): string {
  if (!host) return '?';
  const user = host.user !== null ? `${host.user}@` : '';
  const caps = host.concurrency !== null ? `, at most ${host.concurrency} at once` : '';
  return `${host.name}: ${user}${host.address}:${host.port}${caps}`;
}

/**
 * A stage's approval, in words: `approval required` for one approval from anyone (as it always
 * read), else who and how many, e.g. `approval required: 2 of alice, bob, carol, signed`.
 */
export function approvalWords(rule: ResolvedApproval | null): string {
  if (rule === null) return '';
  const parts: string[] = [];
  if (rule.approvers > 1 || rule.from !== null)
    parts.push(`${rule.approvers}${rule.from !== null ? ` of ${rule.from.join(', ')}` : ` approvers`}`);
  if (rule.signed) parts.push('signed');
  return `approval required${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
}

/**
 * What a service waits for, one item per dependency (SPEC section 11): a plain name waits until
 * healthy, so only the other conditions are said: `db (started)`, `cache (optional)`.
 */
export function dependencyWords(service: ResolvedService): { service: string; traits: string }[] {
  return service.depends_on.map((name) => {
    const dep = dependencyOn(service, name);
    const traits = [dep.condition === 'started' ? 'started' : '', dep.required ? '' : 'optional'].filter(
      Boolean,
    );
    return { service: name, traits: traits.length > 0 ? ` (${traits.join(', ')})` : '' };
  });
}

/** A stage's `max_failures`, in words: `tolerates 2 failures (50%)`; empty when it has none. */
export function budgetWords(budget: ResolvedFailureBudget | null | undefined): string {
  if (!budget || budget.written === 0) return '';
  const count = `tolerates ${budget.count} failure${budget.count === 1 ? '' : 's'}`;
  return typeof budget.written === 'string' ? `${count} (${budget.written} of its services)` : count;
}

/**
 * A notification sink in one line (SPEC section 12), as the display form holds it: the URL's
 * origin only, header names without their values. Not in the digest: where messages go is not
 * what is restored.
 */
export function describeSink(sink: ResolvedNotifySink): string {
  if (sink.url === '') return `${sink.kind} off (its URL is empty: a \${NAME:-} that is unset)`;
  const headers = Object.keys(sink.headers);
  return `${sink.kind} ${sink.url}; ${sink.events.join(', ')}${headers.length > 0 ? `; headers ${headers.join(', ')}` : ''}`;
}
