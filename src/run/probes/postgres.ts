import { userInfo } from 'node:os';
import type { PostgresCheck } from '../../plan/model.js';
import { hostPort } from '../../util/host-port.js';
import { passwordFrom } from './password.js';
import { networkFailure, oneLine, probeOnce, unloaded } from './settle.js';
import type { CheckResult } from './types.js';

/** SQLSTATE cannot_connect_now: the server is starting up, shutting down, or a standby not yet open. */
const CANNOT_CONNECT_NOW = '57P03';

/** What the server says about itself once logged in: one round trip for both questions. */
const READY_QUERY = 'SELECT 1 AS one, pg_is_in_recovery() AS recovery';

/**
 * A `postgres` check (SPEC section 11): a protocol-level login and `SELECT 1`, with the `pg`
 * client (loaded on first use, no client binary). A server that refuses logins while starting up
 * (SQLSTATE 57P03) or that is in recovery (a standby, or a primary replaying WAL) is not ready.
 * Bounded by `timeoutMs` and `signal`: the connection is ended whatever happens; never throws.
 */
export async function postgresCheck(
  check: PostgresCheck,
  options: { timeoutMs: number; signal?: AbortSignal },
  env: NodeJS.ProcessEnv = process.env,
): Promise<CheckResult> {
  const user = check.user ?? currentUser();
  const target = `${user}@${hostPort(check.host, check.port)}/${check.database}`;
  // Loaded before the deadline starts: the first round must not time out on loading the client
  // (half a second on a busy machine), which is restore's cost, not the server's.
  let pg: typeof import('pg').default;
  try {
    pg = (await import('pg')).default;
  } catch (error) {
    return unloaded('postgres', target, 'pg', error);
  }
  return probeOnce('postgres', target, options, (done) => {
    const login = passwordFrom(check.password_env, env);
    if (!login.ok) {
      done(false, login.error);
      return undefined;
    }
    let client: import('pg').Client | undefined;
    const end = () => {
      // end() on a client that never connected rejects; either way the socket is gone.
      client?.end().catch(() => {});
    };
    void (async () => {
      try {
        client = new pg.Client({
          host: check.host,
          port: check.port,
          user,
          database: check.database,
          // Without password_env, pg does what libpq does: PGPASSWORD, then ~/.pgpass.
          ...login.value,
          connectionTimeoutMillis: options.timeoutMs,
          application_name: 'restore health check',
        });
        // A server that closes the connection after login emits 'error' on the client: a failed
        // round, not an unhandled error.
        client.on('error', (error) => done(false, describePgError(error)));
        await client.connect();
        const result = await client.query<{ one: number; recovery: boolean }>(READY_QUERY);
        const row = result.rows[0];
        if (row?.recovery === true)
          done(false, 'in recovery (pg_is_in_recovery() is true), expected a primary');
        else if (row?.one !== 1)
          done(false, `SELECT 1 returned ${JSON.stringify(row?.one ?? null)}, expected 1`);
        else done(true, 'SELECT 1 ok');
      } catch (error) {
        done(false, describePgError(error));
      }
    })();
    return { destroy: end };
  });
}

/** The login psql would use without -U: the user running restore. */
function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'postgres';
  }
}

/** A failed login or query in words: SQLSTATE errors by what they mean, network errors as tcp's. */
function describePgError(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { code?: string; severity?: string };
  if (e.code === CANNOT_CONNECT_NOW) return `not ready: ${oneLine(e.message)} (SQLSTATE ${e.code})`;
  if (e.code === '28P01' || e.code === '28000')
    return `login refused: ${oneLine(e.message)} (SQLSTATE ${e.code})`;
  if (e.code === '3D000') return `${oneLine(e.message)} (SQLSTATE ${e.code})`;
  if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && e.severity !== undefined)
    return `${oneLine(e.message)} (SQLSTATE ${e.code})`;
  if (typeof e.code === 'string' && e.code.startsWith('E')) return networkFailure(e);
  const message = oneLine(e.message ?? String(error));
  // pg's words when the server asks for a password the check was not given.
  if (/client password must be a string|password must be a string|no password supplied/i.test(message))
    return 'the server asks for a password: set password_env';
  if (/Connection terminated due to connection timeout/i.test(message)) return 'timed out while connecting';
  if (/Connection terminated unexpectedly/i.test(message))
    return 'the server closed the connection during login (not a PostgreSQL server?)';
  return message;
}
