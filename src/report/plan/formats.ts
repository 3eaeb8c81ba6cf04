import type { Redactor } from '../../run/redact.js';
import type { Colors } from '../style.js';
import type { PlanView } from './describe.js';
import { renderPlanDot } from './dot.js';
import { renderPlanJson } from './json.js';
import { renderPlanMarkdown } from './markdown.js';
import { renderPlanMermaid } from './mermaid.js';
import { renderPlanText } from './text.js';

/** `restore plan --format <name>`: one renderer per format; a new format is one file and one line here. */
const PLAN_FORMATS = {
  text: (view: PlanView, colors: Colors) => renderPlanText(view, colors),
  markdown: (view: PlanView) => renderPlanMarkdown(view),
  json: (view: PlanView) => renderPlanJson(view),
  mermaid: (view: PlanView) => renderPlanMermaid(view.plan),
  dot: (view: PlanView) => renderPlanDot(view.plan),
} as const;

export type PlanFormat = keyof typeof PLAN_FORMATS;

/**
 * A preview in a format. The view is redacted before any renderer sees it: the display plan
 * writes secrets as `${NAME}`, but what `--live` found (URLs, response bodies, stderr) and a
 * secret written literally in the plan hold values, which shell quoting or Markdown escaping
 * would otherwise disguise from the redaction of the output.
 */
export function renderPlan(format: PlanFormat, view: PlanView, colors: Colors, redactor: Redactor): string {
  return PLAN_FORMATS[format](redactor.deep(view), colors);
}
