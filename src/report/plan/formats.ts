import type { Colors } from '../style.js';
import type { PlanView } from './describe.js';
import { renderPlanDot } from './dot.js';
import { renderPlanJson } from './json.js';
import { renderPlanMarkdown } from './markdown.js';
import { renderPlanMermaid } from './mermaid.js';
import { renderPlanText } from './text.js';

/** `restore plan --format <name>`: one renderer per format; a new format is one file and one line here. */
export const PLAN_FORMATS = {
  text: (view: PlanView, colors: Colors) => renderPlanText(view, colors),
  markdown: (view: PlanView) => renderPlanMarkdown(view),
  json: (view: PlanView) => renderPlanJson(view),
  mermaid: (view: PlanView) => renderPlanMermaid(view.plan),
  dot: (view: PlanView) => renderPlanDot(view.plan),
} as const;

export type PlanFormat = keyof typeof PLAN_FORMATS;
