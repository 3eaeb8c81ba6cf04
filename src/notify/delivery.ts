import { setTimeout as sleep } from 'node:timers/promises';
import { packageVersion } from '../cli/version.js';
import { formatElapsed } from '../util/duration.js';

/**
 * How one message is delivered (SPEC section 12: "retried (3 tries within 30 s)"): each try is
 * bounded, the pauses between tries grow, and the whole never outlasts `budgetMs`.
 */
export interface DeliveryPolicy {
  tries: number;
  /** From the first try's start to the last try's end, at most. */
  budgetMs: number;
  /** One try: connecting, sending, and the answer's status. */
  tryTimeoutMs: number;
  /** The pause before the second, third... try. */
  backoffMs: readonly number[];
}

/**
 * 3 tries of at most 5 s, 500 ms then 2 s apart: 17.5 s at worst, inside the SPEC's 30. A
 * receiver that blinked gets its message within 3 s, inside the grace a run's end allows.
 */
export const DELIVERY: DeliveryPolicy = {
  tries: 3,
  budgetMs: 30_000,
  tryTimeoutMs: 5_000,
  backoffMs: [500, 2_000],
};

export interface Post {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export type Delivered =
  | { ok: true; status: number; tries: number }
  /** `ended`: `signal` aborted it (the run's grace ran out, or an interrupt); it was not tried to the end. */
  | { ok: false; tries: number; error: string; ended: boolean };

/**
 * POSTs `post` until a 2xx answers, a try fails for good (a 4xx other than 408/425/429: sending the
 * same again will not help), the tries run out, or `signal` aborts. Never throws.
 */
export async function deliver(
  post: Post,
  signal: AbortSignal,
  policy: DeliveryPolicy = DELIVERY,
): Promise<Delivered> {
  const started = Date.now();
  let error = 'not tried';
  for (let attempt = 1; attempt <= policy.tries; attempt++) {
    if (attempt > 1) {
      const pause = policy.backoffMs[attempt - 2] ?? policy.backoffMs.at(-1) ?? 0;
      // A pause and a try that would end past the budget are not started.
      if (Date.now() - started + pause + policy.tryTimeoutMs > policy.budgetMs)
        return { ok: false, tries: attempt - 1, error, ended: false };
      try {
        await sleep(pause, undefined, { signal });
      } catch {
        return { ok: false, tries: attempt - 1, error, ended: true };
      }
    }
    const outcome = await tryOnce(post, signal, policy.tryTimeoutMs);
    if (outcome.status !== undefined && outcome.status >= 200 && outcome.status < 300)
      return { ok: true, status: outcome.status, tries: attempt };
    error = outcome.error;
    if (signal.aborted) return { ok: false, tries: attempt, error, ended: true };
    if (!outcome.retry) return { ok: false, tries: attempt, error, ended: false };
  }
  return { ok: false, tries: policy.tries, error, ended: false };
}

interface TryOutcome {
  status?: number;
  error: string;
  retry: boolean;
}

/**
 * One POST through node:http(s), not the global fetch: fetch (undici) loads and compiles its HTTP
 * parser (WebAssembly) on first use and keeps compiling in the background for a second or more,
 * which on a busy machine slowed the run it was to stay out of by a tenth (measured: the first
 * service's start took 1.4 s instead of 1.1 s). node:http's parser is native. No agent: one
 * connection per try, none left open after the run.
 */
async function tryOnce(post: Post, signal: AbortSignal, timeoutMs: number): Promise<TryOutcome> {
  const url = new URL(post.url);
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const bounded = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
  return new Promise<TryOutcome>((resolve) => {
    let settled = false;
    const done = (outcome: TryOutcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const failed = (error: unknown) =>
      done({ error: describeFailure(error, signal, timeoutMs), retry: true });
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(post.body),
          'user-agent': `restore/${packageVersion()}`,
          ...post.headers,
        },
        signal: bounded,
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const retry = status >= 500 || status === 408 || status === 425 || status === 429;
        if (status >= 200 && status < 300) {
          response.resume();
          done({ status, error: '', retry: false });
          return;
        }
        // Slack answers a refused message with a short reason in the body ("invalid_payload").
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (text.length < 200) text += chunk;
        });
        const answer = () => {
          const line = text.split('\n')[0]!.trim().slice(0, 200);
          done({ status, error: `HTTP ${status}${line ? `: ${line}` : ''}`, retry });
        };
        response.on('end', answer);
        response.on('error', answer);
        response.on('close', answer);
      },
    );
    req.on('error', failed);
    req.end(post.body);
  });
}

/** A failed try in words: refused, unreachable, timed out, or ended by the run. */
function describeFailure(cause: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted) return 'the run ended before it was delivered';
  const error = cause as { name?: string; code?: string; message?: string };
  if (error.name === 'TimeoutError' || error.name === 'AbortError')
    return `no answer within ${formatElapsed(timeoutMs)}`;
  const code = error.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset';
    default:
      return error.message ?? String(cause);
  }
}
