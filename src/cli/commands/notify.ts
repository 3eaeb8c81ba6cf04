import { testSinks } from '../../notify/send-test.js';
import { colorsFor } from '../../report/style.js';
import { formatElapsed } from '../../util/duration.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';
import { loadOrFail } from './load-or-fail.js';

export interface NotifyTestOptions {
  format: 'text' | 'json';
}

/**
 * `restore notify test <plan>` (SPEC section 12): one test message to each sink, one line per
 * sink. Exit 0 when every sink that is on got its message, 3 when one did not (as `check` does for
 * a finding: 1 stays "the plan is invalid"), 1 for an invalid plan.
 */
export async function runNotifyTest(file: string, options: NotifyTestOptions, io: Io): Promise<ExitCode> {
  const loaded = await loadOrFail(file, io);
  const results = await testSinks(loaded.plan, file, loaded.secretValues, new AbortController().signal);
  if (options.format === 'json') {
    io.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } else if (results.length === 0) {
    io.stderr.write(`restore: ${file} has no notify: sinks; nothing was sent\n`);
  } else {
    const c = colorsFor(io.stdout, io.env);
    for (const r of results) {
      const name = `notify[${r.sink}]  ${r.kind.padEnd(7)}`;
      const tries = `${r.tries} ${r.tries === 1 ? 'try' : 'tries'}, ${formatElapsed(r.duration_ms)}`;
      switch (r.state) {
        case 'off':
          io.stdout.write(
            `${name}  ${c.dim('off: its URL is empty (a ${NAME:-} that is unset); nothing sent')}\n`,
          );
          break;
        case 'delivered':
          io.stdout.write(`${name}  ${r.target}  ${c.green('ok')} (HTTP ${r.status}, ${tries})\n`);
          break;
        case 'failed':
          io.stdout.write(`${name}  ${r.target}  ${c.red('FAILED')} (${tries}): ${r.error}\n`);
          break;
      }
    }
  }
  return results.some((r) => r.state === 'failed') ? EXIT.failed : EXIT.ok;
}
