import { formatCommand } from '../../plan/command-text.js';
import type { Launcher } from '../places/process/launch.js';
import { runCommand } from '../places/process/run-command.js';
import { withStderr } from '../places/process/stderr-tail.js';
import type { CommandRecord, CommandSpec } from '../places/process/types.js';
import type { CheckResult } from './types.js';

/** The most of a check's output held in memory: its last non-empty line, cut to this length. */
const KEEP_CHARS = 2048;
/** How much of that line the check's one-line detail shows. */
const DETAIL_CHARS = 200;
/** SIGTERM to SIGKILL for a check past its timeout: a probe round must not wait long for it. */
const CHECK_KILL_GRACE_MS = 1000;

/**
 * An `exec` check: the command exits 0 within the check's timeout (the shorter of the command's own
 * and the check's). A failure's detail says why: its last lines of stderr (at most 5 lines, 1 KiB),
 * or, when it wrote none, its last non-empty line of output.
 */
export async function execCheck(
  spec: CommandSpec,
  options: {
    timeoutMs: number;
    signal?: AbortSignal;
    display?: string;
    launcher?: Launcher;
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
      ...(options.launcher ? { launcher: options.launcher } : {}),
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
          ? withStderr(`exit ${record.exitCode}`, record.stderr?.length ? record.stderr : said ? [said] : [])
          : record.message));
  return {
    kind: 'exec',
    target: options.display ?? formatCommand(spec),
    ok: record.failure === null,
    detail,
    durationMs: record.durationMs,
  };
}
