import { join, quote } from 'shlex';

/** A command as a user would type it: argv shell-quoted, so argument boundaries are visible. */
export function formatCommand(command: { argv: readonly string[]; shell: boolean }): string {
  if (command.shell) return `sh -c ${quote(command.argv[0] ?? '')}`;
  return join([...command.argv]);
}
