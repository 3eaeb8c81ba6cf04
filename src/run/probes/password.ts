import { err, ok, type Result } from '../../util/result.js';

/**
 * The password a `postgres` or `redis` check logs in with (SPEC section 11): none when the check
 * names no `password_env`, else the variable's value, read when the check runs; an unset variable
 * fails the round, saying which.
 */
export function passwordFrom(
  name: string | null,
  env: NodeJS.ProcessEnv,
): Result<{ password?: string }, string> {
  if (name === null) return ok({});
  const password = env[name];
  return password === undefined ? err(`password_env ${name} is not set`) : ok({ password });
}
