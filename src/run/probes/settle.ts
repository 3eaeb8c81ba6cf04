import { formatDuration } from '../../util/duration.js';
import { describeNetworkError } from './network-error.js';
import type { CheckResult } from './types.js';

/** Settles a probe with its result; every call after the first does nothing. */
export type Settle = (ok: boolean, detail: string) => void;

/**
 * Runs a network probe (tcp, http) to exactly one result: its own, its deadline or an abort,
 * whichever comes first. What `open` returns (a socket, a request) is destroyed then, so nothing
 * the probe opened outlives it. node:net and node:http reject some input synchronously: a throw
 * from `open` is the probe's result too. Never rejects.
 */
export function probeOnce(
  kind: CheckResult['kind'],
  target: string,
  options: {
    timeoutMs: number;
    signal?: AbortSignal;
    /** What a deadline means for this probe, when it knows better than "timed out after 2s". */
    timeoutDetail?: () => string;
  },
  open: (done: Settle) => { destroy(): void } | undefined,
): Promise<CheckResult> {
  const started = performance.now();
  const result = (ok: boolean, detail: string): CheckResult => ({
    kind,
    target,
    ok,
    detail,
    durationMs: Math.round(performance.now() - started),
  });
  if (options.signal?.aborted) return Promise.resolve(result(false, 'aborted'));

  return new Promise((resolve) => {
    let held: { destroy(): void } | undefined;
    let settled = false;
    const done: Settle = (ok, detail) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      held?.destroy();
      resolve(result(ok, detail));
    };
    const onAbort = () => done(false, 'aborted');
    const timer = setTimeout(
      () => done(false, options.timeoutDetail?.() ?? `timed out after ${formatDuration(options.timeoutMs)}`),
      options.timeoutMs,
    );
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      held = open(done);
    } catch (error) {
      done(false, oneLine((error as Error).message));
    }
    // Settled while opening: what was opened is not held by anyone.
    if (settled) held?.destroy();
  });
}

/** A network error as a probe's one-line detail: "connection refused", "no such host: db". */
export function networkFailure(error: NodeJS.ErrnoException): string {
  return oneLine(describeNetworkError(error));
}

/** Details are one line for people: no newlines from error messages or servers. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** A probe whose client library could not be loaded (a broken install): a failed check, not a crash. */
export function unloaded(
  kind: CheckResult['kind'],
  target: string,
  library: string,
  error: unknown,
): CheckResult {
  const why = oneLine((error as Error).message ?? String(error));
  return { kind, target, ok: false, detail: `cannot load the ${library} client: ${why}`, durationMs: 0 };
}
