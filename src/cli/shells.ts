/**
 * The shells `restore completion` writes scripts for, apart from the scripts themselves so that
 * the CLI can list them in --help without loading completion.ts (start-up time).
 */
export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];
