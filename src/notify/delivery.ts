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

async function tryOnce(post: Post, signal: AbortSignal, timeoutMs: number): Promise<TryOutcome> {
  const bounded = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
  try {
    const response = await fetch(post.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': `restore/${packageVersion()}`,
        ...post.headers,
      },
      body: post.body,
      // A redirect would send the message (and its headers) somewhere the plan does not name.
      redirect: 'manual',
      signal: bounded,
    });
    const status = response.status;
    // Slack answers a refused message with a short reason in the body ("invalid_payload").
    const ok = status >= 200 && status < 300;
    const text = ok ? '' : await shortText(response);
    if (ok) await response.body?.cancel().catch(() => {});
    return {
      status,
      error: `HTTP ${status}${text ? `: ${text}` : ''}`,
      retry: status >= 500 || status === 408 || status === 425 || status === 429,
    };
  } catch (cause) {
    return { error: describeFailure(cause, signal, timeoutMs), retry: true };
  }
}

/** The first line of a refusal's body, at most 200 characters, if it comes within the try. */
async function shortText(response: Response): Promise<string> {
  try {
    const text = await response.text();
    return text.split('\n')[0]!.trim().slice(0, 200);
  } catch {
    return '';
  }
}

/** A failed try in words: refused, unreachable, timed out, or ended by the run. */
function describeFailure(cause: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted) return 'the run ended before it was delivered';
  const error = cause as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (error.name === 'TimeoutError' || error.name === 'AbortError')
    return `no answer within ${formatElapsed(timeoutMs)}`;
  const code = error.cause?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection reset';
    default:
      return code
        ? `${error.cause?.message ?? code} (${code})`
        : (error.cause?.message ?? error.message ?? String(cause));
  }
}
