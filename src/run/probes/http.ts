import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { HttpCheck } from '../../plan/model.js';
import { networkFailure, oneLine, probeOnce } from './settle.js';
import type { CheckResult } from './types.js';

/** A response body is read up to this size at most (SPEC section 2). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Longest quoted needle or pattern shown in a detail, so that it stays one short line. */
const MAX_QUOTED_CHARS = 60;

/** Whether a status code is accepted: a list of codes, or a class such as "2xx". */
export function statusAccepted(status: number, accepted: number[] | string): boolean {
  if (typeof accepted !== 'string') return accepted.includes(status);
  const match = /^([1-5])xx$/i.exec(accepted);
  return match !== null && Math.floor(status / 100) === Number(match[1]);
}

/**
 * An `http` check: the status is accepted and the body, read up to 1 MiB, contains or matches
 * what is asked. Redirects are not followed. The whole exchange is bounded by `timeoutMs` and
 * `signal`; no connection is kept alive or left open. Never throws: every failure is a result.
 */
export function httpCheck(
  check: HttpCheck,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<CheckResult> {
  const prepared = prepare(check);
  return probeOnce('http', `${check.method} ${check.url}`, options, (done) => {
    if (!prepared.ok) {
      done(false, prepared.detail);
      return undefined;
    }
    // Invalid method or header value: node:http validates them synchronously, and probeOnce
    // reports the throw. Destroying the request destroys its socket, whatever stage it is in.
    const req = prepared.send();
    req.on('error', (error: NodeJS.ErrnoException) => done(false, networkFailure(error)));
    req.on('response', (response: IncomingMessage) => {
      const status = response.statusCode ?? 0;
      if (!statusAccepted(status, check.status)) return done(false, statusMismatch(response, check.status));
      if (prepared.body === null) return done(true, statusLine(response));
      const body = prepared.body;
      readBody(response, (text, cut) => {
        const failure = body(text);
        if (failure === null) return done(true, statusLine(response));
        if (cut.error !== null)
          return done(false, `status ${status}, but ${cut.error} while reading the body`);
        const which = cut.truncated ? 'the first 1 MiB of the body' : 'the body';
        done(false, `status ${status}, but ${which} ${failure}`);
      });
    });
    req.end();
    return req;
  });
}

/** Tests the body read so far: null when it passes, else what it lacks ("does not contain \"ok\""). */
type BodyTest = (body: string) => string | null;
type Prepared =
  | { ok: true; send: () => ClientRequest; body: BodyTest | null }
  | { ok: false; detail: string };

/** Everything that can be wrong with a check before any connection: URL, protocol, pattern. */
function prepare(check: HttpCheck): Prepared {
  let url: URL;
  try {
    url = new URL(check.url);
  } catch {
    return { ok: false, detail: `invalid URL: ${quote(check.url)}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return {
      ok: false,
      detail: `unsupported URL scheme ${url.protocol.slice(0, -1)}, expected http or https`,
    };
  }
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  // agent: false: a fresh socket per check, closed with it; no keep-alive pool outlives a probe.
  const send = () =>
    request(url, {
      method: check.method,
      headers: check.headers,
      agent: false,
      rejectUnauthorized: !check.insecure,
    });

  let pattern: RegExp | null = null;
  if (check.body_matches !== null) {
    try {
      pattern = new RegExp(check.body_matches);
    } catch {
      return { ok: false, detail: `invalid body_matches pattern /${clip(check.body_matches)}/` };
    }
  }
  const needle = check.body_contains;
  if (needle === null && pattern === null) return { ok: true, send, body: null };
  const body: BodyTest = (text) => {
    if (needle !== null && !text.includes(needle)) return `does not contain ${quote(needle)}`;
    if (pattern !== null && !pattern.test(text)) return `does not match /${clip(pattern.source)}/`;
    return null;
  };
  return { ok: true, send, body };
}

/** How reading a body stopped short: at the size limit, or on a broken connection. */
interface Cut {
  truncated: boolean;
  error: string | null;
}

/**
 * Reads at most MAX_BODY_BYTES of a response; at the limit it stops reading and destroys the
 * response, so a huge body is neither buffered nor downloaded.
 */
function readBody(response: IncomingMessage, then: (body: string, cut: Cut) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (cut: Cut) => {
    if (finished) return;
    finished = true;
    then(Buffer.concat(chunks, size).toString('utf8'), cut);
  };
  response.on('data', (chunk: Buffer) => {
    if (finished) return;
    const room = MAX_BODY_BYTES - size;
    chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
    size += Math.min(chunk.length, room);
    if (size >= MAX_BODY_BYTES) {
      response.destroy();
      finish({ truncated: true, error: null });
    }
  });
  response.on('end', () => finish({ truncated: false, error: null }));
  response.on('error', (error: NodeJS.ErrnoException) =>
    finish({
      truncated: false,
      error: error.code === 'ECONNRESET' ? 'the connection closed' : oneLine(error.message),
    }),
  );
  // A close without 'end' or 'error' is a body cut short all the same.
  response.on('close', () => finish({ truncated: false, error: 'the connection closed' }));
}

function statusLine(response: IncomingMessage): string {
  const status = response.statusCode ?? 0;
  return oneLine(`${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}`);
}

/** "status 503, expected 2xx"; for a redirect, where it led, since redirects are not followed. */
function statusMismatch(response: IncomingMessage, accepted: number[] | string): string {
  const status = response.statusCode ?? 0;
  const expected = typeof accepted === 'string' ? accepted : orList(accepted.map(String));
  const location = response.headers.location;
  const redirect =
    status >= 300 && status < 400 && location ? ` (redirect to ${clip(location)}, not followed)` : '';
  return oneLine(`status ${status}, expected ${expected}${redirect}`);
}

/** "200", "200 or 204", "200, 204 or 206". */
function orList(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

function quote(text: string): string {
  const json = JSON.stringify(text);
  return json.length > MAX_QUOTED_CHARS + 2 ? `${json.slice(0, MAX_QUOTED_CHARS)}…"` : json;
}

function clip(text: string): string {
  const line = oneLine(text);
  return line.length > MAX_QUOTED_CHARS ? `${line.slice(0, MAX_QUOTED_CHARS)}…` : line;
}
