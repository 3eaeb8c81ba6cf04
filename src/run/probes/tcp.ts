import { connect } from 'node:net';
import type { TcpCheck } from '../../plan/model.js';
import { hostPort } from '../../util/host-port.js';
import { networkFailure, probeOnce } from './settle.js';
import type { CheckResult } from './types.js';

/**
 * A `tcp` check: a connection to host:port opens, and is closed at once. Bounded by `timeoutMs`
 * and `signal`; never throws, never leaves the socket open.
 */
export function tcpCheck(
  check: TcpCheck,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<CheckResult> {
  const target = hostPort(check.host, check.port);
  return probeOnce('tcp', target, options, (done) => {
    // A port out of range is rejected synchronously by node:net: probeOnce reports the throw.
    const socket = connect({ host: check.host, port: check.port });
    socket.once('connect', () => done(true, 'connected'));
    socket.once('error', (error: NodeJS.ErrnoException) => done(false, networkFailure(error)));
    return socket;
  });
}
