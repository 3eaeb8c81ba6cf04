import { formatCommand } from '../../plan/command-text.js';
import { runCommand } from '../executor/run-command.js';
import type { CommandSpec } from '../executor/types.js';
import type { CheckResult } from './types.js';

const KEEP_BYTES = 2048;

/** An `exec` check: the command exits 0 within the check's timeout. Keeps only its last output. */
export async function execCheck(
  spec: CommandSpec,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<CheckResult> {
  let tail: string[] = [];
  let kept = 0;
  const record = await runCommand(
    { ...spec, timeoutMs: Math.min(spec.timeoutMs ?? options.timeoutMs, options.timeoutMs) },
    {
      ...(options.signal ? { signal: options.signal } : {}),
      killGraceMs: 1000,
      onLine: (_stream, line) => {
        if (line.trim() === '') return;
        tail.push(line);
        kept += line.length;
        while (kept > KEEP_BYTES && tail.length > 1) kept -= tail.shift()!.length;
        if (tail.length > 20) tail = tail.slice(-20);
      },
    },
  );
  const last = tail.at(-1);
  const detail =
    record.failure === null
      ? 'exit 0'
      : record.failure === 'exit-non-zero'
        ? `exit ${record.exitCode}${last ? `: ${last.slice(0, 200)}` : ''}`
        : record.message;
  return {
    kind: 'exec',
    target: formatCommand(spec),
    ok: record.failure === null,
    detail,
    durationMs: record.durationMs,
  };
}
