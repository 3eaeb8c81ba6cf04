import { connect } from 'node:net';
import type { TcpCheck } from '../../plan/model.js';
import { formatDuration } from '../../util/duration.js';
import { describeNetworkError } from './network-error.js';
import type { CheckResult } from './types.js';

/** A `tcp` check: a connection to host:port opens (and is closed at once). */
export function tcpCheck(
  check: TcpCheck,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<CheckResult> {
  const started = performance.now();
  const target = `${check.host.includes(':') ? `[${check.host}]` : check.host}:${check.port}`;
  return new Promise((resolve) => {
    const socket = connect({ host: check.host, port: check.port });
    let settled = false;
    const done = (ok: boolean, detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve({ kind: 'tcp', target, ok, detail, durationMs: Math.round(performance.now() - started) });
    };
    const timer = setTimeout(
      () => done(false, `timed out after ${formatDuration(options.timeoutMs)}`),
      options.timeoutMs,
    );
    const onAbort = () => done(false, 'aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    socket.once('connect', () => done(true, 'connected'));
    socket.once('error', (error: NodeJS.ErrnoException) => done(false, describeNetworkError(error)));
  });
}
