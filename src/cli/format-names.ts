/**
 * Format names offered by each command, kept apart from the renderers so that the CLI can list
 * them in --help without loading any renderer (start-up time). The registries of run
 * views, reports and status (src/report/run/views.ts, src/report/report/formats.ts) are keyed by
 * these, so a name without its renderer does not compile.
 */
export const DIAGNOSTIC_FORMAT_NAMES = ['text', 'json', 'github'] as const;
export const PLAN_FORMAT_NAMES = ['text', 'markdown', 'json', 'mermaid', 'dot'] as const;
/** `apply --log-format`: the human views (live on a terminal, lines elsewhere), or JSON lines. */
export const LOG_FORMAT_NAMES = ['pretty', 'json'] as const;
export const REPORT_FORMAT_NAMES = ['markdown', 'json', 'junit'] as const;
export const STATUS_FORMAT_NAMES = ['text', 'json'] as const;
export const CHECK_FORMAT_NAMES = ['text', 'json', 'github'] as const;

export type LogFormat = (typeof LOG_FORMAT_NAMES)[number];
export type ReportFormat = (typeof REPORT_FORMAT_NAMES)[number];
export type StatusFormat = (typeof STATUS_FORMAT_NAMES)[number];
export type CheckFormat = (typeof CHECK_FORMAT_NAMES)[number];
