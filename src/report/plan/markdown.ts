import { quote } from 'shlex';
import { formatDuration } from '../../util/duration.js';
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
import { renderPlanMermaid } from './mermaid.js';

/** A preview to paste into a change review: renders on GitHub as tables and a Mermaid graph. */
export function renderPlanMarkdown(view: PlanView): string {
  const { plan } = view;
  const out: string[] = [`# Restoration plan \`${plan.name}\``, ''];
  if (plan.description) out.push(escapeText(plan.description), '');
  out.push(`- **Digest:** \`${view.digest}\``);
  out.push(`- **Size:** ${countWords(plan)}`);
  if (plan.rto_ms !== undefined) out.push(`- **Target:** ${planRtoWords(plan)}`);
  if (view.only.length > 0) out.push(`- **Only:** ${view.only.map(code).join(', ')} and their dependencies`);
  out.push(`- **Apply with:** \`restore apply ${quote(view.file)} --expect-digest ${view.digest}\``, '');

  let position = 0;
  plan.stages.forEach((stage, index) => {
    const flags = [
      stage.approval ? approvalWords(stage.approval_rule) || 'approval required' : '',
      stage.concurrency !== null ? `at most ${stage.concurrency} at once` : '',
      stage.rto_ms !== undefined ? `RTO ${formatDuration(stage.rto_ms)}` : '',
      budgetWords(stage.max_failures),
    ]
      .filter(Boolean)
      .join(', ');
    out.push(`## Stage ${index + 1}: \`${stage.name}\`${flags ? ` (${flags})` : ''}`, '');
    if (stage.description) out.push(escapeText(stage.description), '');
    out.push('| # | Service | Depends on | Start | Health | Limits |');
    out.push('|---|---|---|---|---|---|');
    for (const name of stage.services) {
      const service = plan.services[name]!;
      position += 1;
      const start = service.start
        ? [
            code(formatCommand(service.start)),
            ...commandTraits(service.start).map(escapeText),
            ...envWords(service.start.env).map(code),
          ].join('<br>')
        : '_verified only_';
      const stop = [
        ...(service.stop ? [`<br>stop: ${code(formatCommand(service.stop))}`] : []),
        // Checked before every start, so shown with the start command.
        ...service.verify.map((item) => `<br>verify: ${code(describeVerify(item))}`),
      ].join('');
      const health =
        service.health.checks.length === 0
          ? '_none: healthy once started_'
          : [
              ...service.health.checks.map((check) => code(describeCheck(check))),
              escapeText(describeTiming(service.health)),
            ].join('<br>');
      const status = view.live?.[name];
      const host = service.host !== null ? [`on ${code(describeHost(plan.hosts[service.host]))}`] : [];
      const title = [
        code(name),
        ...host,
        ...(service.description ? [escapeText(service.description)] : []),
        ...(status ? [`**${escapeText(describeLive(status))}**`] : []),
      ].join('<br>');
      out.push(
        `| ${position} | ${title} | ${
          dependencyWords(service)
            .map((dep) => `${code(dep.service)}${escapeText(dep.traits)}`)
            .join(', ') || '-'
        } | ${start}${stop} | ${health} | ${escapeText(describeService(service))} |`,
      );
    }
    out.push('');
  });

  if ((plan.notify ?? []).length > 0) {
    out.push('## Notifications', '', '_Where messages go; not in the digest._', '');
    for (const sink of plan.notify ?? []) out.push(`- ${code(describeSink(sink))}`);
    out.push('');
  }
  out.push('## Dependency graph', '', '```mermaid', renderPlanMermaid(plan).trimEnd(), '```', '');
  const longest = Math.max(...Object.values(plan.services).map((s) => s.timeout_ms));
  out.push(`_Preview only: nothing was run. Longest service deadline: ${formatDuration(longest)}._`, '');
  return out.join('\n');
}

/** Inline code that survives a GFM table cell: pipes escaped, backticks fenced. */
function code(text: string): string {
  const safe = text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
  const fence = safe.includes('`') ? '``' : '`';
  return `${fence}${fence === '``' ? ' ' : ''}${safe}${fence === '``' ? ' ' : ''}${fence}`;
}

function escapeText(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/\r?\n/g, '<br>')
    .replace(/([*_`[\]])/g, '\\$1');
}
