import type { ReportFormat, StatusFormat } from '../../cli/format-names.js';
import type { RunSnapshot } from '../../run/state/journal/state.js';
import type { Colors } from '../style.js';
import { renderReportJson } from './json.js';
import { renderReportJunit } from './junit.js';
import { renderReportMarkdown } from './markdown.js';
import { renderStatusJson, renderStatusText } from './status.js';

/** The last output lines of services, by name (output-tail.ts). */
export type OutputTails = ReadonlyMap<string, readonly string[]>;

export interface ReportRenderer {
  /** Whether it shows the last lines failed services printed: only then is the run log read. */
  tails: boolean;
  render(run: RunSnapshot, tails: OutputTails): string;
}

/**
 * `restore report --format <name>`: one renderer per format; a new format is one file and one
 * line here (and its name in src/cli/format-names.ts, which this is keyed by).
 */
export const REPORT_FORMATS: Readonly<Record<ReportFormat, ReportRenderer>> = {
  markdown: { tails: true, render: (run, tails) => renderReportMarkdown(run, tails) },
  json: { tails: false, render: (run) => renderReportJson(run) },
  junit: { tails: true, render: (run, tails) => renderReportJunit(run, tails) },
};

export type StatusRenderer = (plan: string, run: RunSnapshot | undefined, colors: Colors) => string;

/** `restore status --format <name>`: the latest run's state, for people or for tools. */
export const STATUS_FORMATS: Readonly<Record<StatusFormat, StatusRenderer>> = {
  text: (plan, run, colors) => renderStatusText(plan, run, colors),
  json: (plan, run) => renderStatusJson(plan, run),
};
