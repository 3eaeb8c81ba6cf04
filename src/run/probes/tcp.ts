import { connect, type Socket } from 'node:net';
import type { TcpCheck } from '../../plan/model.js';
import { formatDuration } from '../../util/duration.js';
import { describeNetworkError } from './network-error.js';
import type { CheckResult } from './types.js';

/**
 * A `tcp` check: a connection to host:port opens, and is closed at once. Bounded by `timeoutMs`
 * and `signal`; never throws, never leaves the socket open.
 */
export function tcpCheck(
  check: TcpCheck,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<CheckResult> {
  const started = performance.now();
  const target = `${check.host.includes(':') ? `[${check.host}]` : check.host}:${check.port}`;
  const result = (ok: boolean, detail: string): CheckResult => ({
    kind: 'tcp',
    target,
    ok,
    detail,
    durationMs: Math.round(performance.now() - started),
  });
  if (options.signal?.aborted) return Promise.resolve(result(false, 'aborted'));

  return new Promise((resolve) => {
    let socket: Socket | undefined;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const done = (ok: boolean, detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket?.destroy();
      resolve(result(ok, detail));
    };
    const onAbort = () => done(false, 'aborted');

    timer = setTimeout(
      () => done(false, `timed out after ${formatDuration(options.timeoutMs)}`),
      options.timeoutMs,
    );
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      socket = connect({ host: check.host, port: check.port });
    } catch (error) {
      // A port out of range is rejected synchronously by node:net.
      return done(false, oneLine((error as Error).message));
    }
    socket.once('connect', () => done(true, 'connected'));
    socket.once('error', (error: NodeJS.ErrnoException) => done(false, oneLine(describeNetworkError(error))));
  });
}

/** Details are one line for people. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
