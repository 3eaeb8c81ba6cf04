import { formatCommand } from '../../plan/command-text.js';
import { runCommand } from '../executor/run-command.js';
import type { CommandRecord, CommandSpec } from '../executor/types.js';
import type { CheckResult } from './types.js';

/** The most of a check's output held in memory: its last non-empty line, cut to this length. */
const KEEP_CHARS = 2048;
/** How much of that line the check's one-line detail shows. */
const DETAIL_CHARS = 200;
/** SIGTERM to SIGKILL for a check past its timeout: a probe round must not wait long for it. */
const CHECK_KILL_GRACE_MS = 1000;

/**
 * An `exec` check: the command exits 0 within the check's timeout (the shorter of the command's own
 * and the check's). Of its output only the last non-empty line is kept, for the detail.
 */
export async function execCheck(
  spec: CommandSpec,
  options: {
    timeoutMs: number;
    signal?: AbortSignal;
    display?: string;
    /** A better line for a failure than `exit N: <last line>`, when there is one (remote checks). */
    explain?: (record: CommandRecord, lastLine: string | undefined) => string | undefined;
  },
): Promise<CheckResult> {
  let last: string | undefined;
  const record = await runCommand(
    { ...spec, timeoutMs: Math.min(spec.timeoutMs ?? options.timeoutMs, options.timeoutMs) },
    {
      ...(options.signal ? { signal: options.signal } : {}),
      killGraceMs: CHECK_KILL_GRACE_MS,
      onLine: (_stream, line) => {
        if (line.trim() === '') return;
        // A copy, so that a huge line is not kept alive by a slice of it.
        last = line.length > KEEP_CHARS ? Buffer.from(line.slice(0, KEEP_CHARS)).toString() : line;
      },
    },
  );
  const line = last?.trim();
  // The mark says the line was cut; the redaction of secrets needs it too (a secret cut short).
  const said = line !== undefined && line.length > DETAIL_CHARS ? `${line.slice(0, DETAIL_CHARS)}…` : line;
  const explained = record.failure === null ? undefined : options.explain?.(record, said);
  const detail =
    record.failure === null
      ? 'exit 0'
      : (explained ??
        (record.failure === 'exit-non-zero'
          ? `exit ${record.exitCode}${said ? `: ${said}` : ''}`
          : record.message));
  return {
    kind: 'exec',
    target: options.display ?? formatCommand(spec),
    ok: record.failure === null,
    detail,
    durationMs: record.durationMs,
  };
}
