import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { hasStackTrace, runCli } from '../helpers/cli.js';
import { events } from '../helpers/e2e.js';
import { useRemoteWorkDirs, useSshd } from '../helpers/sshd.js';
import { useTempDir, writeFile } from '../helpers/tmp.js';

/**
 * SPEC section 11, `log` on a remote service: the daemon's log on the host is followed over ssh
 * (test/helpers/sshd.ts: a real sshd on 127.0.0.1), from where this attempt's output starts.
 */
const sshd = useSshd();
const tempDir = useTempDir();
const workDir = useRemoteWorkDirs(tempDir);

/** A daemon on the host that prints `lines` after a second and keeps running; `dir` marks it. */
const printer = (dir: string, lines: string[]) => ({
  run: [
    'sh',
    '-c',
    `echo starting; sleep 1; ${lines.map((l) => `echo '${l}'`).join('; ')}; while :; do sleep 1; done`,
    dir,
  ],
  daemon: true,
});

function plan(dir: string, lines: string[]): void {
  writeFile(
    dir,
    'plan.yaml',
    JSON.stringify({
      version: 1,
      name: 'remote-log',
      hosts: { box: sshd().host() },
      services: {
        server: {
          host: 'box',
          start: printer(dir, lines),
          health: {
            checks: [{ log: { matches: '^ready to accept connections$' } }],
            interval: '200ms',
            start_interval: '100ms',
            retries: 20,
          },
        },
      },
    }),
  );
}

const run = (dir: string, ...args: string[]) =>
  runCli([...args, 'plan.yaml', '--state-dir', join(dir, 'state')], { cwd: dir, timeoutMs: 60_000 });

describe("SPEC 11: log on a remote daemon reads this attempt's output on its host", () => {
  it('is healthy once the ready line is in its log there; the line of an earlier run does not count', async () => {
    const dir = workDir();
    plan(dir, ['ready to accept connections']);
    const first = await run(dir, 'apply', '--log-format', 'json');
    expect(first.code, first.stdout + first.stderr).toBe(EXIT.ok);
    expect(await run(dir, 'down', '--yes')).toMatchObject({ code: EXIT.ok });

    // The same log on the host now holds a ready line, from the run before: this run's daemon never prints one.
    plan(dir, ['still warming up']);
    const second = await run(dir, 'apply', '--log-format', 'json');
    expect(second.code).toBe(EXIT.failed);
    expect(hasStackTrace(second.stdout + second.stderr)).toBe(false);
    const failed = events(second.stdout).find((e) => e.event === 'service.failed');
    expect(failed?.message).toMatch(
      /log \/\^ready to accept connections\$\/: expected a line matching .*last: "still warming up"/,
    );
    await run(dir, 'down', '--yes');
  }, 120_000);
});
