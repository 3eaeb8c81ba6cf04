import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { HttpCheck } from '../../plan/model.js';
import { formatDuration } from '../../util/duration.js';
import { describeNetworkError } from './network-error.js';
import type { CheckResult } from './types.js';

/** A response body is read up to this size at most (SPEC section 2). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Whether a status code is accepted: a list of codes, or a class such as "2xx". */
export function statusAccepted(status: number, accepted: number[] | string): boolean {
  if (typeof accepted === 'string') return String(status)[0] === accepted[0] && status >= 100 && status < 600;
  return accepted.includes(status);
}

/**
 * An `http` check: the status is accepted and the body, read up to 1 MiB, contains or matches
 * what is asked. Redirects are not followed. No connection is kept alive or left open.
 */
export function httpCheck(
  check: HttpCheck,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<CheckResult> {
  const started = performance.now();
  const target = `${check.method} ${check.url}`;
  const wantBody = check.body_contains !== null || check.body_matches !== null;
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean, detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      resolve({ kind: 'http', target, ok, detail, durationMs: Math.round(performance.now() - started) });
    };
    const url = new URL(check.url);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, {
      method: check.method,
      headers: check.headers,
      agent: false,
      rejectUnauthorized: !check.insecure,
    });
    const timer = setTimeout(
      () => done(false, `timed out after ${formatDuration(options.timeoutMs)}`),
      options.timeoutMs,
    );
    const onAbort = () => done(false, 'aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    req.on('error', (error: NodeJS.ErrnoException) => done(false, describeNetworkError(error)));
    req.on('response', (response: IncomingMessage) => {
      const status = response.statusCode ?? 0;
      const statusLine = `${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}`;
      if (!statusAccepted(status, check.status)) {
        const expected = typeof check.status === 'string' ? check.status : check.status.join(' or ');
        return done(false, `status ${status}, expected ${expected}`);
      }
      if (!wantBody) return done(true, statusLine);
      readBody(response, (body) => {
        if (check.body_contains !== null && !body.includes(check.body_contains)) {
          return done(
            false,
            `status ${status}, but the body does not contain ${JSON.stringify(check.body_contains)}`,
          );
        }
        if (check.body_matches !== null && !new RegExp(check.body_matches).test(body)) {
          return done(false, `status ${status}, but the body does not match /${check.body_matches}/`);
        }
        done(true, statusLine);
      });
    });
    req.end();
  });
}

/** Reads at most MAX_BODY_BYTES of a response, then stops reading (the socket is destroyed). */
function readBody(response: IncomingMessage, then: (body: string) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    then(Buffer.concat(chunks).toString('utf8'));
  };
  response.on('data', (chunk: Buffer) => {
    const room = MAX_BODY_BYTES - size;
    chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
    size += Math.min(chunk.length, room);
    if (size >= MAX_BODY_BYTES) {
      response.destroy();
      finish();
    }
  });
  response.on('end', finish);
  response.on('error', finish);
}
