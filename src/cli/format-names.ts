/**
 * Format names offered by each command, kept apart from the renderers so that the CLI can list
 * them in --help without loading any renderer (start-up time).
 */
export const DIAGNOSTIC_FORMAT_NAMES = ['text', 'json', 'github'] as const;
export const PLAN_FORMAT_NAMES = ['text', 'markdown', 'json', 'mermaid', 'dot'] as const;
