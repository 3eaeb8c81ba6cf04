import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { type CliResult, hasStackTrace, runCli, spawnCli } from '../helpers/cli.js';
import { daemon, events, tcp, useWorkDirs } from '../helpers/e2e.js';
import { freePorts } from '../helpers/ports.js';
import { eventually, isAlive } from '../helpers/processes.js';
import { writeFile } from '../helpers/tmp.js';

const workDir = useWorkDirs();

/** A plan file `ops/plan.yaml` in a fresh work directory; returns the work directory. */
function planIn(services: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const dir = workDir();
  mkdirSync(join(dir, 'ops'));
  writeFile(
    join(dir, 'ops'),
    'plan.yaml',
    JSON.stringify({ version: 1, name: 'files', ...extra, services }, null, 2),
  );
  return dir;
}

const cli = (cwd: string, args: string[], env: Record<string, string | undefined> = {}) =>
  runCli(args, { cwd, env: { RESTORE_STATE_DIR: undefined, ...env }, timeoutMs: 60_000 });

/** The one line on stderr that says which state dir a command used. */
const stateLine = (result: CliResult) => result.stderr.split('\n').find((l) => l.includes('state dir'));

/** A refusal: the exit code, one line naming what and why, no stack trace. */
function expectRefused(result: CliResult, code: number, ...words: string[]): void {
  expect(result.code, result.stderr).toBe(code);
  const line = result.stderr
    .split('\n')
    .find((l) => l.startsWith('restore: ') && !/^restore: state dir \//.test(l));
  for (const word of words) expect(line).toContain(word);
  expect(hasStackTrace(result.stderr)).toBe(false);
}

/** A file's content and modification time, to show that a link's target was not touched. */
const fingerprint = (file: string) => ({ text: readFileSync(file, 'utf8'), mtime: statSync(file).mtimeMs });

describe('SPEC 3: state follows the plan file, not the working directory', () => {
  it('the same plan applied from two working directories takes the same lock: the second exits 5', async () => {
    const dir = planIn({ slow: { start: 'sleep 30' } });
    const first = spawnCli(['apply', 'plan.yaml'], {
      cwd: join(dir, 'ops'),
      env: { RESTORE_STATE_DIR: undefined },
    });
    const lock = join(dir, 'ops', '.restore', 'files', 'lock');
    await eventually(() => existsSync(lock), 'the first apply to take the lock', 10_000);
    const second = await cli(dir, ['apply', 'ops/plan.yaml']);
    expect(second.code).toBe(EXIT.locked);
    expect(second.stderr).toContain(`locked by another apply: pid ${first.child.pid}`);
    expect(stateLine(second)).toBe(`restore: state dir ${join(dir, 'ops', '.restore')}`);
    first.child.kill('SIGINT');
    const firstResult = await first.done;
    expect(firstResult.code).toBe(EXIT.sigint);
    expect(stateLine(firstResult)).toBe(`restore: state dir ${join(dir, 'ops', '.restore')}`);
    // Nothing went to the working directories.
    expect(existsSync(join(dir, '.restore'))).toBe(false);
  });

  it('down from another working directory finds and stops the daemons', async () => {
    const [port] = await freePorts(1);
    const dir = planIn({ web: { start: daemon('--listen', port!), health: tcp(port!) } });
    expect((await cli(join(dir, 'ops'), ['apply', 'plan.yaml'])).code).toBe(EXIT.ok);
    const pid = Number(readFileSync(join(dir, 'ops', '.restore', 'files', 'services', 'web.pid'), 'utf8'));
    expect(isAlive(pid)).toBe(true);
    mkdirSync(join(dir, 'elsewhere'));
    const down = await cli(join(dir, 'elsewhere'), ['down', '../ops/plan.yaml', '--yes']);
    expect(down.code).toBe(EXIT.ok);
    expect(down.stdout).toMatch(/✓ web\s+stopped daemon pid \d+/);
    expect(stateLine(down)).toBe(`restore: state dir ${join(dir, 'ops', '.restore')}`);
    await eventually(() => !isAlive(pid), 'the daemon to be stopped', 5000);
  });

  it('RESTORE_STATE_DIR overrides the default, --state-dir overrides both; status and report read the same', async () => {
    const dir = planIn({ one: { start: 'true' } });
    const env = { RESTORE_STATE_DIR: 'from-env' };
    const applied = await cli(dir, ['apply', 'ops/plan.yaml'], env);
    expect(applied.code).toBe(EXIT.ok);
    expect(stateLine(applied)).toBe(`restore: state dir ${join(dir, 'from-env')} (from RESTORE_STATE_DIR)`);
    // The run's journal and log, and the plan it applied (its text and resolved form).
    expect(readdirSync(join(dir, 'from-env', 'files', 'runs'))).toHaveLength(4);
    expect(existsSync(join(dir, 'ops', '.restore'))).toBe(false);

    // JSON on stdout stays JSON; the state dir is said on stderr.
    const status = await cli(dir, ['status', 'ops/plan.yaml', '--format', 'json'], env);
    expect(status.code).toBe(EXIT.ok);
    expect((JSON.parse(status.stdout) as { state: string }).state).toBe('succeeded');
    expect(stateLine(status)).toContain(join(dir, 'from-env'));
    const report = await cli(dir, ['report', 'ops/plan.yaml', '--format', 'json'], env);
    expect(report.code).toBe(EXIT.ok);

    const flagged = await cli(dir, ['apply', 'ops/plan.yaml', '--state-dir', 'from-flag'], env);
    expect(flagged.code).toBe(EXIT.ok);
    expect(stateLine(flagged)).toBe(`restore: state dir ${join(dir, 'from-flag')}`);
    expect(existsSync(join(dir, 'from-flag', 'files', 'runs'))).toBe(true);
  });

  it('apply --log-format json keeps stdout to JSON lines; the state dir line is on stderr', async () => {
    const dir = planIn({ one: { start: 'true' } });
    const result = await cli(dir, ['apply', 'ops/plan.yaml', '--log-format', 'json']);
    expect(result.code).toBe(EXIT.ok);
    expect(events(result.stdout).at(-1)!.event).toBe('run.finished');
    expect(stateLine(result)).toBe(`restore: state dir ${join(dir, 'ops', '.restore')}`);
  });

  it('the "continue with" hint repeats --state-dir only when one was given', async () => {
    const dir = planIn(
      { one: { stage: 'core', start: 'true' } },
      { stages: [{ name: 'core', approval: true }] },
    );
    const byDefault = await cli(dir, ['apply', 'ops/plan.yaml']);
    expect(byDefault.code).toBe(EXIT.awaitingApproval);
    expect(byDefault.stderr).toContain(
      'Continue with: restore apply ops/plan.yaml --resume --approve core\n',
    );
    const given = await cli(dir, ['apply', 'ops/plan.yaml', '--state-dir', 'my state']);
    expect(given.code).toBe(EXIT.awaitingApproval);
    expect(given.stderr).toContain(
      "Continue with: restore apply ops/plan.yaml --resume --approve core --state-dir 'my state'\n",
    );
    const resumed = await cli(dir, [
      'apply',
      'ops/plan.yaml',
      '--resume',
      '--approve',
      'core',
      '--state-dir',
      'my state',
    ]);
    expect(resumed.code).toBe(EXIT.ok);
  });

  it('a plan directory that cannot be written is refused up front (exit 2), naming --state-dir and RESTORE_STATE_DIR', async () => {
    const dir = planIn({ one: { start: 'touch started' } });
    chmodSync(join(dir, 'ops'), 0o555);
    // root writes anywhere: drop the capabilities that let it, as an operator's account lacks them.
    const prefix =
      process.getuid?.() === 0 ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search'] : [];
    const probe = spawnSync('sh', ['-c', '"$@"', 'sh', ...prefix, 'test', '-w', join(dir, 'ops')]);
    expect(probe.status, 'the plan directory must not be writable for the test to mean anything').not.toBe(0);
    const result = await runCli(['apply', 'ops/plan.yaml'], {
      cwd: dir,
      prefix,
      env: { RESTORE_STATE_DIR: undefined },
    });
    chmodSync(join(dir, 'ops'), 0o755);
    expectRefused(
      result,
      EXIT.usage,
      join(dir, 'ops', '.restore'),
      'permission denied',
      '--state-dir',
      'RESTORE_STATE_DIR',
    );
    expect(existsSync(join(dir, 'ops', 'started'))).toBe(false);
  });
});

describe('STYLE 9: state files are never written through links, and the state dir must be yours', () => {
  /** A plan with a daemon, applied once; returns the plan's state directory and its work dir. */
  async function appliedOnce(): Promise<{ dir: string; state: string }> {
    const [port] = await freePorts(1);
    const dir = planIn({ web: { start: daemon('--listen', port!), health: tcp(port!) } });
    expect((await cli(dir, ['apply', 'ops/plan.yaml'])).code).toBe(EXIT.ok);
    const state = join(dir, 'ops', '.restore', 'files');
    expect((await cli(dir, ['down', 'ops/plan.yaml', '--yes'])).code).toBe(EXIT.ok);
    return { dir, state };
  }

  /** Replaces `path` with a link to a fresh victim file outside the state dir; returns the victim. */
  function plantLink(dir: string, path: string): string {
    const victim = writeFile(dir, `victim-${Math.random().toString(16).slice(2)}`, 'precious\n');
    rmSync(path, { recursive: true, force: true });
    symlinkSync(victim, path);
    return victim;
  }

  const runOf = (state: string) =>
    readdirSync(join(state, 'runs'))
      .find((f) => f.endsWith('.jsonl'))!
      .replace(/\.jsonl$/, '');

  it.each([
    ['the pid file', (state: string) => join(state, 'services', 'web.pid')],
    ['the daemon log', (state: string) => join(state, 'services', 'web.log')],
    ['the lock', (state: string) => join(state, 'lock')],
    ['a journal', (state: string) => join(state, 'runs', `${runOf(state)}.jsonl`)],
    ['a run log', (state: string) => join(state, 'runs', `${runOf(state)}.log`)],
  ])(
    '%s planted as a link: apply refuses (exit 2), naming it, and its target is untouched',
    async (_, where) => {
      const { dir, state } = await appliedOnce();
      const link = where(state);
      const victim = plantLink(dir, link);
      const before = fingerprint(victim);
      const result = await cli(dir, ['apply', 'ops/plan.yaml']);
      expectRefused(result, EXIT.usage, link, 'symbolic link');
      expect(fingerprint(victim)).toEqual(before);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      // down and status refuse it too rather than read through it.
      const down = await cli(dir, ['down', 'ops/plan.yaml', '--yes']);
      expectRefused(down, EXIT.usage, link, 'symbolic link');
      expect(fingerprint(victim)).toEqual(before);
    },
  );

  it('a FIFO planted as the pid file is refused at once (exit 2): down neither hangs nor reads it', async () => {
    const { dir, state } = await appliedOnce();
    const fifo = join(state, 'services', 'web.pid');
    rmSync(fifo, { force: true });
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    try {
      expectRefused(
        await cli(dir, ['down', 'ops/plan.yaml', '--yes']),
        EXIT.usage,
        fifo,
        'not a regular file',
      );
      expectRefused(await cli(dir, ['apply', 'ops/plan.yaml']), EXIT.usage, fifo, 'not a regular file');
    } finally {
      // The clean-up reads every pid file under the work directory: a FIFO would block it.
      rmSync(fifo);
    }
  });

  it('resume does not cut a linked journal short: a torn-looking target line stays as it was', async () => {
    const dir = planIn({ broken: { start: 'false' } });
    expect((await cli(dir, ['apply', 'ops/plan.yaml'])).code).toBe(EXIT.failed);
    const state = join(dir, 'ops', '.restore', 'files');
    const journal = join(state, 'runs', `${runOf(state)}.jsonl`);
    const victim = writeFile(dir, 'victim.txt', `${readFileSync(journal, 'utf8')}not json, no newline`);
    rmSync(journal);
    symlinkSync(victim, journal);
    const before = fingerprint(victim);
    const result = await cli(dir, ['apply', 'ops/plan.yaml', '--resume']);
    expectRefused(result, EXIT.usage, journal, 'symbolic link');
    expect(fingerprint(victim)).toEqual(before);
  });

  it('the runs directory as a link is refused, and nothing is written where it points', async () => {
    const dir = planIn({ one: { start: 'true' } });
    const state = join(dir, 'ops', '.restore', 'files');
    mkdirSync(join(state, 'services'), { recursive: true, mode: 0o700 });
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    symlinkSync(elsewhere, join(state, 'runs'));
    const result = await cli(dir, ['apply', 'ops/plan.yaml']);
    expectRefused(result, EXIT.usage, join(state, 'runs'), 'symbolic link');
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('a group-writable state dir is refused with what to do, and nothing is written in it', async () => {
    const dir = planIn({ one: { start: 'touch started' } });
    const stateDir = join(dir, 'ops', '.restore');
    mkdirSync(stateDir);
    chmodSync(stateDir, 0o770);
    const result = await cli(dir, ['apply', 'ops/plan.yaml']);
    expectRefused(result, EXIT.usage, stateDir, 'writable by its group', 'chmod go-w', '--state-dir');
    expect(readdirSync(stateDir)).toEqual([]);
    expect(existsSync(join(dir, 'ops', 'started'))).toBe(false);
    const status = await cli(dir, ['status', 'ops/plan.yaml']);
    expectRefused(status, EXIT.usage, stateDir, 'writable by its group');
  });

  it('a state dir owned by another user is refused', async () => {
    const dir = planIn({ one: { start: 'true' } });
    const stateDir = join(dir, 'ops', '.restore');
    mkdirSync(stateDir, { mode: 0o700 });
    const { chownSync } = await import('node:fs');
    // As root, give it away; as anyone else, the test runs as root in CI (and here).
    expect(process.getuid?.(), 'this test gives a directory away, which needs root').toBe(0);
    chownSync(stateDir, 65534, 65534);
    const result = await cli(dir, ['apply', 'ops/plan.yaml']);
    expectRefused(result, EXIT.usage, stateDir, 'belongs to uid 65534');
  });
});

describe('SPEC 4: rollback and down leave one-shots alone, and say so', () => {
  it('rollback says a one-shot was left alone (not a failed rollback); down counts it apart', async () => {
    const [port] = await freePorts(1);
    const dir = planIn({
      setup: { start: 'true' },
      web: { depends_on: ['setup'], start: daemon('--listen', port!), health: tcp(port!) },
      broken: { depends_on: ['web'], start: 'false' },
    });
    const result = await cli(dir, ['apply', 'ops/plan.yaml', '--on-failure', 'rollback']);
    expect(result.code).toBe(EXIT.failed);
    expect(result.stdout).toMatch(/web\s+rolled back\s+stopped daemon pid \d+/);
    expect(result.stdout).toMatch(/setup\s+left alone\s+left alone: a one-shot/);
    expect(result.stdout).not.toContain('rollback failed');
    const status = JSON.parse((await cli(dir, ['status', 'ops/plan.yaml', '--format', 'json'])).stdout) as {
      services: Record<string, { result: string }>;
    };
    expect(status.services.setup!.result).toBe('healthy');
    expect(status.services.web!.result).toBe('rolled-back');

    const down = await cli(dir, ['down', 'ops/plan.yaml', '--yes']);
    expect(down.code).toBe(EXIT.ok);
    expect(down.stdout).toMatch(/- setup\s+left alone/);
    expect(down.stdout).toMatch(/- web\s+not running/);
    expect(down.stdout).toContain(
      '1 of 1 services stopped or not running; 2 one-shots left alone (nothing running to stop)\n',
    );
  });
});

describe('I/O errors of the state dir are the environment, said in one line with their own exit code', () => {
  /** Mounts a file system for a test; a failure fails the test (CI runs as root): never a skip. */
  function mount(args: string[], target: string): () => void {
    const done = spawnSync('mount', [...args, target], { encoding: 'utf8' });
    expect(done.status, `mount ${args.join(' ')} ${target}: ${done.stderr}`).toBe(0);
    return () => {
      const undone = spawnSync('umount', [target], { encoding: 'utf8' });
      expect(undone.status, `umount ${target}: ${undone.stderr}`).toBe(0);
    };
  }

  it('a full disk stops the run with exit 74 and one line; the journal stays valid and the run resumes', async () => {
    // `chatty` fills the run log with its output, unless told to be quiet (for the resume).
    const chatty = `[ -e quiet ] || ${JSON.stringify(process.execPath)} -e 'for (let i = 0; i < 5000; i++) console.log("x".repeat(100))'`;
    const dir = planIn({
      chatty: { start: { run: chatty, shell: true } },
      after: { depends_on: ['chatty'], start: 'touch after-ran' },
    });
    const small = join(dir, 'small');
    mkdirSync(small);
    const unmount = mount(['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs'], small);
    try {
      const full = await cli(dir, ['apply', 'ops/plan.yaml', '--state-dir', small]);
      expect(full.code, full.stderr).toBe(EXIT.ioError);
      const said = full.stderr
        .split('\n')
        .filter((l) => l.startsWith('restore: ') && !l.includes('state dir /'));
      expect(said).toHaveLength(1);
      expect(said[0]).toMatch(/^restore: cannot write .*\/files\/runs\/.*: no space left on the device; /);
      expect(said[0]).toContain(`continue with: restore apply ops/plan.yaml --resume --state-dir ${small}`);
      expect(hasStackTrace(full.stderr)).toBe(false);
      expect(existsSync(join(dir, 'ops', 'after-ran'))).toBe(false);
      expect(existsSync(join(small, 'files', 'lock'))).toBe(false);

      const runs = join(small, 'files', 'runs');
      const journal = join(runs, readdirSync(runs).find((f) => f.endsWith('.jsonl'))!);
      const verified = await cli(dir, ['audit', 'verify', journal]);
      expect(verified.code, verified.stdout).toBe(EXIT.ok);

      // Space is freed (the run log goes), the service is quiet now: the same run continues.
      for (const log of readdirSync(runs).filter((f) => f.endsWith('.log'))) rmSync(join(runs, log));
      writeFile(join(dir, 'ops'), 'quiet', '');
      const resumed = await cli(dir, ['apply', 'ops/plan.yaml', '--resume', '--state-dir', small]);
      expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
      expect(existsSync(join(dir, 'ops', 'after-ran'))).toBe(true);
      expect(readdirSync(runs).filter((f) => f.endsWith('.jsonl'))).toHaveLength(1);
      expect((await cli(dir, ['audit', 'verify', journal])).code).toBe(EXIT.ok);
    } finally {
      unmount();
    }
  });

  it('a read-only state dir: apply is refused up front (exit 2, one line), status still reads it', async () => {
    const dir = planIn({ one: { start: 'true' } });
    expect((await cli(dir, ['apply', 'ops/plan.yaml'])).code).toBe(EXIT.ok);
    const stateDir = join(dir, 'ops', '.restore');
    const unbind = mount(['--bind', stateDir], stateDir);
    try {
      const remounted = spawnSync('mount', ['-o', 'remount,ro,bind', stateDir], { encoding: 'utf8' });
      expect(remounted.status, remounted.stderr).toBe(0);
      const refused = await cli(dir, ['apply', 'ops/plan.yaml']);
      expectRefused(
        refused,
        EXIT.usage,
        join(stateDir, 'files'),
        'read-only',
        '--state-dir',
        'RESTORE_STATE_DIR',
      );
      const status = await cli(dir, ['status', 'ops/plan.yaml']);
      expect(status.code).toBe(EXIT.ok);
      expect(status.stdout).toContain('succeeded');
    } finally {
      unbind();
    }
  });
});
