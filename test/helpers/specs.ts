import type { CommandSpec } from '../../src/run/places/process/types.js';

/**
 * Builders of command specs for the executor and exec-check tests: `spec` for an argv, `sh` for
 * a shell script, both run in the directory `cwd()` gives at the time.
 */
export function specBuilders(cwd: () => string) {
  const spec = (argv: string[], extra: Partial<CommandSpec> = {}): CommandSpec => ({
    argv,
    shell: false,
    cwd: cwd(),
    env: {},
    timeoutMs: null,
    ...extra,
  });
  const sh = (script: string, extra: Partial<CommandSpec> = {}) => spec([script], { shell: true, ...extra });
  return { spec, sh };
}
