import type { Timed } from '../../run/events.js';
import { formatDuration, formatElapsed } from '../../util/duration.js';

/** Words shared by the human views of a run. */

export const RESULT_WORDS = {
  healthy: 'healthy',
  'already-healthy': 'already healthy',
  failed: 'FAILED',
  blocked: 'blocked',
  skipped: 'skipped',
  'rolled-back': 'rolled back',
} as const;

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

export function via(how: string): string {
  switch (how) {
    case 'yes':
      return '--yes';
    case 'approve-flag':
      return '--approve';
    case 'prompt':
      return 'at the prompt';
    case 'approve':
      return 'restore approve';
    default:
      return 'earlier in this run';
  }
}

/** The failing checks of a probe event, in one line. */
export function failingChecks(event: Timed & { type: 'service.probe' }): string {
  const failing = event.checks.filter((check) => !check.ok);
  return failing.map((check) => `${check.kind} ${check.target}: ${check.detail}`).join('; ');
}

export { formatElapsed };

/** Processes that escaped a command's process group, in one line. */
export function escapedWords(processes: readonly { pid: number; command: string }[]): string {
  const list = processes.map((p) => `pid ${p.pid} (${p.command})`).join(', ');
  const count = processes.length === 1 ? '1 process' : `${processes.length} processes`;
  return `${count} left its process group and outlived it: ${list}`;
}

/** A one-shot of an interrupted run still running when the run resumed, in one line. */
export function inFlightWords(event: {
  phase: 'waiting' | 'ended' | 'stopped';
  processes: readonly { pid: number; command: string }[];
  wait_ms: number;
}): string {
  const pids = event.processes.map((p) => p.pid).join(', ');
  switch (event.phase) {
    case 'waiting':
      return `still running from the interrupted run (pid ${pids}): waiting for it to end, at most ${formatElapsed(event.wait_ms)}, before starting it again`;
    case 'ended':
      return `the copy from the interrupted run ended after ${formatElapsed(event.wait_ms)}; starting it again (its exit status is unknown)`;
    case 'stopped':
      return `the copy from the interrupted run was still running at its deadline: stopped (pid ${pids}); starting it again`;
  }
}

/** A gate waiting for approvals, in words: who must act, and how. */
export function waitingWords(event: Timed & { type: 'stage.waiting-approval' }): string {
  const more = event.approvers - event.approvals;
  const who = event.from ? ` from ${event.from.join(', ')}` : '';
  return (
    `stage ${event.stage} waits for ${plural(more, `${event.signed ? 'signed ' : ''}approval`)}${who} ` +
    `(${event.approvals} of ${event.approvers} given; restore approve --stage ${event.stage}` +
    `${event.signed ? ' --sign-with KEY' : ''}), at most ${formatDuration(event.timeout_ms)}`
  );
}

/** What `service.verified` checked, in one line: `3 files (bin/api, SHA256SUMS and 1 listed)`. */
export function verifiedWords(files: readonly { kind: string; path: string }[]): string {
  const named = files.filter((file) => file.kind !== 'listed').map((file) => file.path);
  const listed = files.length - named.length;
  const parts = [...named, ...(listed > 0 ? [`${listed} listed`] : [])];
  const list = parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : (parts[0] ?? '');
  return `${files.length} file${files.length === 1 ? '' : 's'} (${list})`;
}

/** A notification not delivered, in one line: which sink, what it told of, and why. */
export function notifyFailedWords(event: {
  sink: number;
  kind: string;
  target: string;
  notified: string;
  tries: number;
  error: string;
}): string {
  return `notification not delivered: ${event.kind} notify[${event.sink}] (${event.target}), ${event.notified}, ${event.tries} ${event.tries === 1 ? 'try' : 'tries'}: ${event.error}; the run is not affected`;
}

/** A drill's teardown of one service, in one line (SPEC section 10). */
export function tornDownWords(event: { ok: boolean; action: string; message: string }): string {
  if (!event.ok) return `teardown FAILED: ${event.message}`;
  return event.action === 'left-alone' ? event.message : `torn down: ${event.message}`;
}

/** The end of a drill's teardown, in one line. */
export function teardownWords(event: {
  stopped: readonly string[];
  failed: readonly string[];
  left_running: readonly string[];
}): string {
  const failed = event.failed.length > 0 ? `; FAILED to stop ${event.failed.join(', ')}` : '';
  const running =
    event.left_running.length > 0
      ? `; left running what the drill did not start: ${event.left_running.join(', ')}`
      : '';
  return `drill teardown: ${plural(event.stopped.length, 'service')} stopped${failed}${running}`;
}
