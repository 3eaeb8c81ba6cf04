import type { RedisCheck } from '../../plan/model.js';
import { hostPort } from '../../util/host-port.js';
import { passwordFrom } from './password.js';
import { networkFailure, oneLine, probeOnce, unloaded } from './settle.js';
import type { CheckResult } from './types.js';

/** Longest reply shown in a detail: a server that is not Redis may answer with anything. */
const MAX_REPLY_CHARS = 80;

/**
 * A `redis` check (SPEC section 11): `PING` answers `PONG`, after `AUTH` with the password from
 * `password_env`. ioredis (loaded on first use) is set up for one probe: no reconnection, no
 * offline queue, no retried command, a connect timeout of the check's own; the connection is
 * closed whatever happens. A server still loading its data set (`-LOADING`) is not ready.
 * Never throws, never outlives `timeoutMs`.
 */
export async function redisCheck(
  check: RedisCheck,
  options: { timeoutMs: number; signal?: AbortSignal },
  env: NodeJS.ProcessEnv = process.env,
): Promise<CheckResult> {
  const target = hostPort(check.host, check.port);
  // Loaded before the deadline starts, as the postgres check does its client.
  let Redis: typeof import('ioredis').Redis;
  try {
    ({ Redis } = await import('ioredis'));
  } catch (error) {
    return unloaded('redis', target, 'ioredis', error);
  }
  return probeOnce('redis', target, options, (done) => {
    const login = passwordFrom(check.password_env, env);
    if (!login.ok) {
      done(false, login.error);
      return undefined;
    }
    let client: import('ioredis').Redis | undefined;
    const end = () => {
      client?.disconnect(false);
    };
    void (async () => {
      try {
        client = new Redis({
          host: check.host,
          port: check.port,
          ...login.value,
          lazyConnect: true,
          connectTimeout: options.timeoutMs,
          retryStrategy: () => null,
          reconnectOnError: () => false,
          maxRetriesPerRequest: 0,
          enableOfflineQueue: false,
          enableReadyCheck: false,
          autoResubscribe: false,
          showFriendlyErrorStack: false,
        });
        // Connection errors also come as 'error' events; without a listener ioredis logs them.
        client.on('error', (error: NodeJS.ErrnoException) => done(false, describeRedisError(error)));
        await client.connect();
        const reply = await client.ping();
        if (reply === 'PONG') done(true, 'PONG');
        else done(false, `PING answered ${clip(String(reply))}, expected PONG`);
      } catch (error) {
        done(false, describeRedisError(error as NodeJS.ErrnoException));
      }
    })();
    return { destroy: end };
  });
}

/** A Redis error reply or a connection failure in words. */
function describeRedisError(error: NodeJS.ErrnoException): string {
  const message = oneLine(error.message ?? String(error));
  if (/^LOADING\b/.test(message)) return `not ready: still loading its data set (${clip(message)})`;
  if (/^WRONGPASS\b|invalid password|invalid username-password/i.test(message))
    return `login refused: wrong password (${clip(message)})`;
  if (/^NOAUTH\b/.test(message)) return 'the server asks for a password: set password_env';
  if (/without any password configured|AUTH <password> called without/i.test(message))
    return `AUTH refused: the server has no password set (${clip(message)})`;
  if (
    /Connection is closed|Stream isn't writeable/i.test(message) ||
    error.code === 'EPIPE' ||
    error.code === 'ECONNRESET'
  )
    return 'the connection closed before PING was answered (not a Redis server?)';
  if (error.code === 'ETIMEDOUT' || /connect ETIMEDOUT/.test(message)) return 'timed out while connecting';
  if (typeof error.code === 'string' && error.code.startsWith('E')) return networkFailure(error);
  // ioredis's parser on a reply that is not RESP (an HTTP server answers "HTTP/1.1 400"...).
  const resp = /Unknown RESP type \d+ ("[^"]*")/.exec(message);
  if (resp) return `not a Redis server: its answer starts with ${resp[1]}, expected PONG`;
  if (/Protocol error/i.test(message)) return `not a Redis server: ${clip(message)}`;
  return clip(message);
}

function clip(text: string): string {
  const line = oneLine(text);
  return line.length > MAX_REPLY_CHARS ? `${line.slice(0, MAX_REPLY_CHARS)}…` : line;
}
