import { createInterface } from 'node:readline/promises';
import { parseOnly } from '../../plan/select.js';
import { colorsFor } from '../../report/style.js';
import { stopOrder, stopService, withDependents } from '../../run/down.js';
import { SshHosts } from '../../run/remote/ssh.js';
import { planState, sshDir } from '../../run/state-dir.js';
import { closest } from '../../util/closest.js';
import { CommandError, UsageError } from '../errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';
import { loadOrFail } from './load-or-fail.js';

export interface DownOptions {
  only: string[];
  yes?: boolean;
  stateDir: string;
}

/**
 * `restore down <plan>`: stops services in reverse dependency order, for drills and rollback by
 * hand. Asks on a terminal; elsewhere it needs --yes. Exit 0 when every stop succeeded, 3 if not.
 */
export async function runDown(file: string, options: DownOptions, io: Io): Promise<ExitCode> {
  const loaded = await loadOrFail(file, io);
  const plan = loaded.plan;
  const only = parseOnly(options.only);
  for (const name of only) {
    if (!(name in plan.services)) {
      const guess = closest(name, Object.keys(plan.services));
      throw new UsageError(
        `--only: no service "${name}" in plan ${plan.name}${guess ? ` (did you mean "${guess}"?)` : ''}`,
      );
    }
  }
  const selected = only.length > 0 ? withDependents(plan, only) : new Set(Object.keys(plan.services));
  const order = stopOrder(plan, selected);
  const names = order.map((s) => s.name).join(', ');

  if (!options.yes) {
    if (io.stdin.isTTY !== true || io.stderr.isTTY !== true) {
      throw new UsageError(
        `down would stop ${order.length} service(s) (${names}); confirm with --yes when not on a terminal`,
      );
    }
    const rl = createInterface({ input: io.stdin, output: process.stderr });
    const answer = await rl.question(`Stop ${order.length} service(s) of ${plan.name} (${names})? [y/N] `);
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) throw new CommandError('nothing was stopped', EXIT.usage);
  }

  const c = colorsFor(io.stdout, io.env);
  let failures = 0;
  const ssh =
    Object.keys(plan.hosts).length > 0
      ? new SshHosts(plan.hosts, sshDir(planState(options.stateDir, plan.name)))
      : undefined;
  try {
    for (const service of order) {
      const result = await stopService(service, loaded, options.stateDir, undefined, ssh);
      if (!result.ok) failures += 1;
      const mark = result.ok ? (result.action === 'none' ? c.dim('-') : c.green('✓')) : c.red('✗');
      io.stdout.write(`${mark} ${service.name.padEnd(20)} ${result.message}\n`);
    }
  } finally {
    await ssh?.close();
  }
  io.stdout.write(`${order.length - failures} of ${order.length} services stopped or not running\n`);
  return failures === 0 ? EXIT.ok : EXIT.failed;
}
