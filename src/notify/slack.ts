import type { NotifyContext, Told } from './message.js';

const ICONS: Record<Told['tone'], string> = {
  good: ':white_check_mark:',
  bad: ':x:',
  waiting: ':raised_hand:',
  info: ':arrow_forward:',
};

/**
 * A Slack incoming-webhook message (`text` for the notification itself, `blocks` for the
 * channel): what happened on the first line, then what comes next or who must approve and the
 * command to run, then the plan, run, stage and service in small print.
 */
export function slackBody(told: Told, ctx: NotifyContext, event: string): string {
  const lines = [`${ICONS[told.tone]} *${mrkdwn(told.summary)}*`];
  if (told.next) lines.push(`*Next:* ${code(told.next)}`);
  const where = [
    `plan \`${mrkdwn(ctx.plan.name)}\``,
    ...(ctx.run ? [`run \`${mrkdwn(ctx.run)}\``] : []),
    ...(told.stage ? [`stage \`${mrkdwn(told.stage)}\``] : []),
    ...(told.service ? [`service \`${mrkdwn(told.service)}\``] : []),
    `\`${event}\``,
  ];
  return JSON.stringify({
    text: `${ICONS[told.tone]} ${mrkdwn(told.summary)}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: where.join(' · ') }] },
    ],
  });
}

/**
 * Commands in `next` set in code, so a channel reader copies them whole: the text from the first
 * `restore ` on, up to a `, then` that joins two commands.
 */
function code(next: string): string {
  return mrkdwn(next).replace(/restore (?:apply|approve) .*?(?=, then |$)/g, (command) => `\`${command}\``);
}

/** Slack's mrkdwn takes `&`, `<` and `>` as markup: written escaped, they read as themselves. */
function mrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
