import type { ResolvedCheck } from '../../plan/model.js';
import { unreachable } from '../../util/unreachable.js';
import type { Launcher } from '../places/process/launch.js';
import { toSpec } from '../places/process/spec.js';
import { commandBudget, explainRemote, inTurn, type RemoteTarget, remoteSpec } from '../places/ssh/run.js';
import { remoteDisplay } from '../places/ssh/ssh.js';
import { execCheck } from './exec.js';
import { httpCheck } from './http.js';
import { tcpCheck } from './tcp.js';
import type { CheckResult, RoundResult } from './types.js';

export interface RoundOptions {
  /** Deadline of each check. */
  timeoutMs: number;
  /** Directory of the plan file, for the cwd of exec checks. */
  planDir: string;
  signal?: AbortSignal;
  /** The service's host: exec checks run there (SPEC section 6). */
  remote?: RemoteTarget | undefined;
  /** What starts local exec checks: the spawner helper during apply. */
  launcher?: Launcher;
}

/** One probe round: every check of a service at once; it passes when all pass. */
export async function probeRound(
  checks: readonly ResolvedCheck[],
  options: RoundOptions,
): Promise<RoundResult> {
  const started = performance.now();
  const results = await Promise.all(checks.map((check) => runCheck(check, options)));
  return {
    ok: results.every((r) => r.ok),
    checks: results,
    durationMs: Math.round(performance.now() - started),
  };
}

function runCheck(check: ResolvedCheck, options: RoundOptions): Promise<CheckResult> {
  const limits = { timeoutMs: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) };
  switch (check.kind) {
    case 'http':
      return httpCheck(check, limits);
    case 'tcp':
      return tcpCheck(check, limits);
    case 'exec':
      if (options.remote) {
        const remote = options.remote;
        const budget = commandBudget(check.command, options.timeoutMs);
        return inTurn(remote, budget, options.signal, (budgetMs) =>
          execCheck(remoteSpec(check.command, remote, budgetMs), {
            ...limits,
            ...(budgetMs !== null ? { timeoutMs: budgetMs } : {}),
            display: remoteDisplay(check.command, remote.host),
            // ssh's own failures and a program missing on the host, in the words a start uses.
            explain: (record, lastLine) =>
              record.exitCode === 255 || record.exitCode === 127 || record.exitCode === 126
                ? explainRemote(record, lastLine, check.command, remote.host)
                : undefined,
          }),
        );
      }
      return execCheck(toSpec(check.command, options.planDir, options.timeoutMs), {
        ...limits,
        ...(options.launcher ? { launcher: options.launcher } : {}),
      });
    default:
      return unreachable(check);
  }
}
