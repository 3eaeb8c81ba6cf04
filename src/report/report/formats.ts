import type { ReportFormat, StatusFormat } from '../../cli/format-names.js';
import type { RunSnapshot } from '../../run/state/journal/state.js';
import type { RtoTable } from '../rto.js';
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
  /** `rto`: the run against the plan's targets (src/report/rto.ts); left out, none are shown. */
  render(run: RunSnapshot, tails: OutputTails, rto?: RtoTable): string;
}

/**
 * `restore report --format <name>`: one renderer per format; a new format is one file and one
 * line here (and its name in src/cli/format-names.ts, which this is keyed by).
 */
export const REPORT_FORMATS: Readonly<Record<ReportFormat, ReportRenderer>> = {
  markdown: { tails: true, render: (run, tails, rto) => renderReportMarkdown(run, tails, rto) },
  json: { tails: false, render: (run, _tails, rto) => renderReportJson(run, rto) },
  junit: { tails: true, render: (run, tails, rto) => renderReportJunit(run, tails, rto) },
};

export type StatusRenderer = (
  plan: string,
  run: RunSnapshot | undefined,
  colors: Colors,
  rto?: RtoTable,
) => string;

/** `restore status --format <name>`: the latest run's state, for people or for tools. */
export const STATUS_FORMATS: Readonly<Record<StatusFormat, StatusRenderer>> = {
  text: (plan, run, colors, rto) => renderStatusText(plan, run, colors, rto),
  json: (plan, run, _colors, rto) => renderStatusJson(plan, run, rto),
};
