import { formatDuration } from '../../util/duration.js';
import type { Colors } from '../style.js';
import {
  approvalWords,
  budgetWords,
  commandTraits,
  countWords,
  dependencyWords,
  describeCheck,
  describeHost,
  describeLive,
  describeService,
  describeSink,
  describeTiming,
  describeVerify,
  envWords,
  formatCommand,
  type PlanView,
  planRtoWords,
} from './describe.js';

/** The dry-run preview for a terminal or a review: stages in order, each service in start order. */
export function renderPlanText(view: PlanView, c: Colors): string {
  const { plan } = view;
  const out: string[] = [];
  out.push(`${c.bold(`Plan ${plan.name}`)}${plan.description ? `: ${plan.description}` : ''}`);
  out.push(`digest ${view.digest}`);
  const only = view.only.length > 0 ? ` (--only ${view.only.join(',')} and their dependencies)` : '';
  out.push(
    `${countWords(plan)}${only}; ${view.live ? 'health checks ran once (--live), nothing was started' : 'nothing is run by a preview'}`,
  );
  if (plan.rto_ms !== undefined) out.push(planRtoWords(plan));
  let position = 0;
  plan.stages.forEach((stage, index) => {
    const traits: string[] = [];
    if (stage.approval) traits.push(c.yellow(approvalWords(stage.approval_rule) || 'approval required'));
    if (stage.concurrency !== null) traits.push(`at most ${stage.concurrency} at once`);
    if (stage.rto_ms !== undefined) traits.push(`RTO ${formatDuration(stage.rto_ms)}`);
    const budget = budgetWords(stage.max_failures);
    if (budget) traits.push(budget);
    out.push('');
    out.push(
      `${c.bold(`Stage ${index + 1}/${plan.stages.length}: ${stage.name}`)}${stage.description ? ` - ${stage.description}` : ''}${traits.length > 0 ? `  [${traits.join(', ')}]` : ''}`,
    );
    for (const name of stage.services) {
      const service = plan.services[name]!;
      position += 1;
      const deps = dependencyWords(service).map((dep) => `${dep.service}${dep.traits}`);
      const after = deps.length > 0 ? c.dim(`  after ${deps.join(', ')}`) : '';
      const status = view.live?.[name];
      const live = status ? `  ${(status.healthy ? c.green : c.yellow)(`[${describeLive(status)}]`)}` : '';
      out.push(
        `  ${position}. ${c.bold(name)}${service.description ? ` - ${service.description}` : ''}${after}${live}`,
      );
      const field = (label: string, value: string) => out.push(`       ${label.padEnd(7)} ${value}`);
      if (service.host !== null) field('host', describeHost(plan.hosts[service.host]));
      if (service.start) {
        const traits = commandTraits(service.start);
        field(
          'start',
          `${formatCommand(service.start)}${traits.length > 0 ? c.dim(`  (${traits.join(', ')})`) : ''}`,
        );
      } else {
        field('start', c.dim('none: verified only, never started'));
      }
      const env = envWords(service.start?.env ?? {});
      if (env.length > 0) field('env', env.join(' '));
      if (service.stop) field('stop', formatCommand(service.stop));
      service.verify.forEach((item, i) => {
        field(i === 0 ? 'verify' : '', describeVerify(item));
      });
      if (service.health.checks.length === 0) {
        field('health', c.dim('no checks: healthy once started'));
      } else {
        service.health.checks.forEach((check, i) => {
          field(i === 0 ? 'health' : '', describeCheck(check));
        });
        field('', c.dim(describeTiming(service.health)));
      }
      field('limits', c.dim(describeService(service)));
    }
  });
  if ((plan.notify ?? []).length > 0) {
    out.push('', c.bold('Notify (not in the digest)'));
    for (const sink of plan.notify ?? []) out.push(`  ${describeSink(sink)}`);
  }
  return `${out.join('\n')}\n`;
}
