// SPEC section 11, the data-store and output probes: `postgres`, `redis` and `log`, each through
// the real CLI against real servers on 127.0.0.1 (PostgreSQL primary and standbys, redis-server,
// a node HTTP server, daemons that print a ready line). PostgreSQL refuses to run as root, so as
// root its servers run as the unprivileged user `restore-e2e` (as the linux-stack test does).
// The servers must be installed (CI: apt-get install postgresql redis-server): never skipped.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EXIT } from '../../src/cli/exit-codes.js';
import { hasStackTrace, runCli } from '../helpers/cli.js';
import { events, useWorkDirs } from '../helpers/e2e.js';
import { freePorts, listening } from '../helpers/ports.js';
import { eventually } from '../helpers/processes.js';

const AS_ROOT = process.getuid?.() === 0;
const PG_USER = AS_ROOT ? 'restore-e2e' : userInfo().username;
const PG_PASSWORD = 'pg-probe-Secret-7431';
const REDIS_PASSWORD = 'redis-probe-Secret-9924';
const CLI_MS = 60_000;

const workDir = useWorkDirs();

/** A plan of one service that is only probed (no start command), with fast timing. */
function probePlan(dir: string, checks: unknown[], extra: Record<string, unknown> = {}): string {
  const file = join(dir, 'plan.yaml');
  const plan = {
    version: 1,
    name: 'probes',
    services: {
      store: {
        health: { checks, interval: '200ms', start_interval: '100ms', timeout: '2s', retries: 3 },
        ...extra,
      },
    },
  };
  writeFileSync(file, stringify(plan));
  return file;
}

/** `restore apply` of a plan, its JSON events, with the given environment. */
async function apply(file: string, env: Record<string, string | undefined> = {}) {
  const result = await runCli(['apply', file, '--log-format', 'json'], {
    env: { RESTORE_STATE_DIR: join(file, '..', 'state'), ...env },
    timeoutMs: CLI_MS,
  });
  expect(hasStackTrace(result.stdout + result.stderr)).toBe(false);
  const failed =
    result.code === 0 ? undefined : events(result.stdout).find((e) => e.event === 'service.failed');
  return { ...result, failed };
}

/** Everything a run wrote, stdout, stderr and its state dir: no secret may appear in any of it. */
function everythingWritten(file: string, result: { stdout: string; stderr: string }): string {
  const state = join(file, '..', 'state');
  const files = existsSync(state)
    ? readdirSync(state, { recursive: true, encoding: 'utf8' })
        .map((entry) => join(state, entry))
        .filter((path) => !path.endsWith('lock'))
        .flatMap((path) => {
          try {
            return [readFileSync(path, 'utf8')];
          } catch {
            return [];
          }
        })
    : [];
  return [result.stdout, result.stderr, ...files].join('\n');
}

async function waitForPort(port: number, what: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await listening(port))) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what} on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/** The newest /usr/lib/postgresql/<version>/bin with initdb, pg_ctl and pg_basebackup. */
function pgBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const dir = versions.map((v) => join(root, v, 'bin')).find((d) => existsSync(join(d, 'pg_basebackup')));
  if (!dir)
    throw new Error('the postgres probe tests need PostgreSQL server binaries: apt-get install postgresql');
  return dir;
}

/** Runs a PostgreSQL tool as the user that owns the clusters; throws with its stderr on failure. */
function asPgUser(argv: string[], env: Record<string, string> = {}): void {
  const command = AS_ROOT
    ? [
        'setpriv',
        `--reuid=${PG_USER}`,
        `--regid=${PG_USER}`,
        '--init-groups',
        'env',
        ...envWords(env),
        ...argv,
      ]
    : ['env', ...envWords(env), ...argv];
  const ran = spawnSync(command[0]!, command.slice(1), { encoding: 'utf8', timeout: 60_000 });
  if (ran.status !== 0) throw new Error(`${argv.join(' ')} failed: ${ran.stderr}${ran.stdout}`);
}
const envWords = (env: Record<string, string>) => Object.entries(env).map(([k, v]) => `${k}=${v}`);

describe('SPEC 11: postgres checks a login and SELECT 1 on a server that is neither starting up nor in recovery', () => {
  const bin = pgBin();
  let root = '';
  let ports: { primary: number; hot: number; cold: number };
  const clusters: string[] = [];

  const start = (data: string, port: number, settings: string[] = []) => {
    const options = [`-p ${port}`, `-k ${root}`, '-c listen_addresses=127.0.0.1', ...settings].join(' ');
    asPgUser([
      join(bin, 'pg_ctl'),
      '-D',
      data,
      '-l',
      `${data}.log`,
      '-o',
      options,
      '-w',
      '-t',
      '60',
      'start',
    ]);
    clusters.push(data);
  };

  beforeAll(async () => {
    if (AS_ROOT && spawnSync('id', ['-u', PG_USER]).status !== 0)
      spawnSync('useradd', ['--create-home', '--shell', '/bin/sh', PG_USER]);
    root = mkdtempSync(join(tmpdir(), 'restore-pg-'));
    if (AS_ROOT)
      chownSync(
        root,
        Number(spawnSync('id', ['-u', PG_USER]).stdout),
        Number(spawnSync('id', ['-g', PG_USER]).stdout),
      );
    const [primary, hot, cold] = await freePorts(3);
    ports = { primary: primary!, hot: hot!, cold: cold! };
    const pwfile = join(root, 'pw');
    writeFileSync(pwfile, `${PG_PASSWORD}\n`);
    if (AS_ROOT) chownSync(pwfile, Number(spawnSync('id', ['-u', PG_USER]).stdout), 0);
    const primaryDir = join(root, 'primary');
    asPgUser([
      join(bin, 'initdb'),
      '-D',
      primaryDir,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      `--pwfile=${pwfile}`,
      '--no-locale',
      '--encoding=UTF8',
      '--no-sync',
    ]);
    start(primaryDir, ports.primary);
    // Two standbys of it: one open for reads (in recovery), one that refuses logins (57P03).
    for (const [name, port, hotStandby] of [
      ['hot', ports.hot, 'on'],
      ['cold', ports.cold, 'off'],
    ] as const) {
      const dir = join(root, name);
      asPgUser(
        [
          join(bin, 'pg_basebackup'),
          '-h',
          '127.0.0.1',
          '-p',
          String(ports.primary),
          '-U',
          PG_USER,
          '-D',
          dir,
          '-R',
          '-X',
          'stream',
          '--no-sync',
        ],
        { PGPASSWORD: PG_PASSWORD },
      );
      if (hotStandby === 'on') start(dir, port, [`-c hot_standby=${hotStandby}`]);
      else {
        // pg_ctl -w waits for logins a cold standby never takes: started without waiting, then its port.
        asPgUser([
          join(bin, 'pg_ctl'),
          '-D',
          dir,
          '-l',
          `${dir}.log`,
          '-o',
          `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c hot_standby=off`,
          '-W',
          'start',
        ]);
        clusters.push(dir);
        await waitForPort(port, 'the cold standby');
      }
    }
  }, 180_000);

  afterAll(() => {
    for (const data of clusters.reverse()) {
      try {
        asPgUser([join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // not running
      }
    }
    if (root) rmSync(root, { recursive: true, force: true });
  }, 120_000);

  const pgCheck = (port: number, extra: Record<string, unknown> = {}) => ({
    postgres: { port, user: PG_USER, password_env: 'PG_PROBE_PW', ...extra },
  });

  it('a primary that takes the login is healthy, and the password is in no output nor file', async () => {
    const file = probePlan(workDir(), [pgCheck(ports.primary)]);
    const result = await apply(file, { PG_PROBE_PW: PG_PASSWORD });
    expect(result.code, result.stdout + result.stderr).toBe(EXIT.ok);
    expect(events(result.stdout).some((e) => e.event === 'service.already-healthy')).toBe(true);
    expect(everythingWritten(file, result)).not.toContain(PG_PASSWORD);
  });

  it("a wrong password fails with the server's words, the password redacted", async () => {
    const file = probePlan(workDir(), [pgCheck(ports.primary)]);
    const wrong = 'not-the-Password-1187';
    const result = await apply(file, { PG_PROBE_PW: wrong });
    expect(result.code).toBe(EXIT.failed);
    expect(result.failed?.message).toMatch(/login refused: password authentication failed for user .*28P01/);
    expect(everythingWritten(file, result)).not.toContain(wrong);
  });

  it('an unset password_env fails the round saying which variable, and `restore check` reports it', async () => {
    const file = probePlan(workDir(), [pgCheck(ports.primary, { password_env: 'PG_PROBE_UNSET' })]);
    const result = await apply(file, { PG_PROBE_UNSET: undefined });
    expect(result.code).toBe(EXIT.failed);
    expect(result.failed?.message).toContain('password_env PG_PROBE_UNSET is not set');
    const check = await runCli(['check', file, '--format', 'json'], {
      env: { RESTORE_STATE_DIR: join(file, '..', 'state'), PG_PROBE_UNSET: undefined },
      timeoutMs: CLI_MS,
    });
    expect(check.code).toBe(3);
    const findings = JSON.parse(check.stdout) as { check: string; level: string; message: string }[];
    expect(findings).toContainEqual(
      expect.objectContaining({
        check: 'password',
        level: 'error',
        message: expect.stringContaining('PG_PROBE_UNSET is not set'),
      }),
    );
  });

  it('a hot standby takes the login but is in recovery: not ready, and the message says so', async () => {
    const file = probePlan(workDir(), [pgCheck(ports.hot)]);
    const result = await apply(file, { PG_PROBE_PW: PG_PASSWORD });
    expect(result.code).toBe(EXIT.failed);
    expect(result.failed?.message).toContain('in recovery (pg_is_in_recovery() is true), expected a primary');
  });

  it('a standby that refuses logins (hot_standby off) is not ready: SQLSTATE 57P03 in words', async () => {
    const file = probePlan(workDir(), [pgCheck(ports.cold)]);
    const result = await apply(file, { PG_PROBE_PW: PG_PASSWORD });
    expect(result.code).toBe(EXIT.failed);
    expect(result.failed?.message).toMatch(
      /not ready: the database system is not (yet )?accepting connections.*57P03/,
    );
  });

  it('plan shows the check and plan --live probes it', async () => {
    const file = probePlan(workDir(), [pgCheck(ports.primary)]);
    const plan = await runCli(['plan', file, '--live'], {
      env: { PG_PROBE_PW: PG_PASSWORD },
      timeoutMs: CLI_MS,
    });
    expect(plan.code).toBe(EXIT.ok);
    expect(plan.stdout).toContain(
      `postgres ${PG_USER}@127.0.0.1:${ports.primary}/postgres, password from $PG_PROBE_PW`,
    );
    expect(plan.stdout).toContain('healthy: would be skipped');
  });
});

// ---------------------------------------------------------------------------------------------
// Redis

describe('SPEC 11: redis checks that PING answers PONG', () => {
  const servers: ChildProcess[] = [];
  let http: Server | undefined;
  let root = '';
  let ports: { open: number; locked: number; http: number };

  const redis = (port: number, args: string[] = []) => {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        root,
        '--save',
        '',
        '--appendonly',
        'no',
        ...args,
      ],
      {
        stdio: 'ignore',
      },
    );
    servers.push(child);
    return child;
  };
  const stop = async (child: ChildProcess) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'restore-redis-'));
    const [open, locked, httpPort] = await freePorts(3);
    ports = { open: open!, locked: locked!, http: httpPort! };
    redis(ports.open);
    redis(ports.locked, ['--requirepass', REDIS_PASSWORD]);
    http = createServer((_req, res) => res.end('hello\n'));
    await new Promise<void>((resolve) => http!.listen(ports.http, '127.0.0.1', resolve));
    await waitForPort(ports.open, 'redis');
    await waitForPort(ports.locked, 'redis with a password');
  });

  afterAll(async () => {
    for (const child of servers) await stop(child);
    await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)));
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('a redis without a password answers PONG: healthy', async () => {
    const file = probePlan(workDir(), [{ redis: { port: ports.open } }]);
    const result = await apply(file);
    expect(result.code, result.stdout + result.stderr).toBe(EXIT.ok);
  });

  it('with the password from password_env: healthy, and the password is in no output nor file', async () => {
    const file = probePlan(workDir(), [{ redis: { port: ports.locked, password_env: 'REDIS_PROBE_PW' } }]);
    const result = await apply(file, { REDIS_PROBE_PW: REDIS_PASSWORD });
    expect(result.code, result.stdout + result.stderr).toBe(EXIT.ok);
    expect(everythingWritten(file, result)).not.toContain(REDIS_PASSWORD);
  });

  it('a wrong password says so; no password says one is needed', async () => {
    const file = probePlan(workDir(), [{ redis: { port: ports.locked, password_env: 'REDIS_PROBE_PW' } }]);
    const wrong = await apply(file, { REDIS_PROBE_PW: 'not-the-Password-5521' });
    expect(wrong.code).toBe(EXIT.failed);
    expect(wrong.failed?.message).toContain('login refused: wrong password');
    expect(everythingWritten(file, wrong)).not.toContain('not-the-Password-5521');

    const bare = probePlan(workDir(), [{ redis: { port: ports.locked } }]);
    const none = await apply(bare);
    expect(none.code).toBe(EXIT.failed);
    expect(none.failed?.message).toContain('the server asks for a password: set password_env');
  });

  it('a port that is really HTTP fails clearly within the timeout', async () => {
    const file = probePlan(workDir(), [{ redis: { port: ports.http } }]);
    const started = Date.now();
    const result = await apply(file);
    expect(result.code).toBe(EXIT.failed);
    expect(result.failed?.message).toMatch(
      /redis 127\.0\.0\.1:\d+: (not a Redis server|the connection closed|PING answered)/,
    );
    // Three rounds of at most the 2 s timeout, and the CLI's own start: far below a hang.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('a redis still loading its data set is not ready (LOADING), and healthy once loaded', async () => {
    const [port] = await freePorts(1);
    const dir = join(root, 'loading');
    mkdirSync(dir);
    const seed = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--enable-debug-command',
        'yes',
      ],
      { stdio: 'ignore' },
    );
    servers.push(seed);
    await waitForPort(port!, 'redis to seed');
    const cli = (...args: string[]) => {
      const ran = spawnSync('redis-cli', ['-p', String(port), ...args], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      if (ran.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${ran.stderr}`);
      // redis-cli exits 0 on an error reply too: an error must not pass for a seeded data set.
      if (/^ERR/.test(ran.stdout)) throw new Error(`redis-cli ${args.join(' ')}: ${ran.stdout}`);
      return ran.stdout.trim();
    };
    cli('DEBUG', 'POPULATE', '100000');
    cli('SAVE');
    await stop(seed);
    // Each key loads 50 µs late at least: seconds of LOADING, during which the port is open.
    const loading = redis(port!, [
      '--dir',
      dir,
      '--dbfilename',
      'dump.rdb',
      '--loading-process-events-interval-bytes',
      '1024',
      '--key-load-delay',
      '50',
    ]);
    await waitForPort(port!, 'redis to load');
    const file = probePlan(workDir(), [{ redis: { port } }], {
      health: {
        checks: [{ redis: { port } }],
        interval: '100ms',
        start_interval: '100ms',
        timeout: '1s',
        retries: 2,
      },
    });
    const result = await apply(file);
    expect(result.code).toBe(EXIT.failed);
    expect(result.failed?.message).toContain('not ready: still loading its data set (LOADING');
    await eventually(
      () =>
        spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG',
      'redis to finish loading',
      120_000,
    );
    const again = await apply(file);
    expect(again.code, again.stdout).toBe(EXIT.ok);
    await stop(loading);
  }, 240_000);
});

// ---------------------------------------------------------------------------------------------
// log

describe("SPEC 11: log checks that a line of this run's output of the service matches", () => {
  /** A daemon that prints its ready line after `delayMs`, and keeps running. */
  // /bin/sh rather than node: it prints within milliseconds even on a loaded machine.
  const printsLater = (delaySeconds: number, line: string) => ({
    run: ['/bin/sh', '-c', `echo starting; sleep ${delaySeconds}; echo '${line}'; exec sleep 120`],
    daemon: true,
  });

  it('a daemon is healthy once it prints its ready line, not before', async () => {
    const dir = workDir();
    const file = probePlan(dir, [{ log: { matches: 'ready to accept connections$' } }], {
      start: printsLater(1.2, 'server: ready to accept connections'),
      health: {
        checks: [{ log: { matches: 'ready to accept connections$' } }],
        interval: '100ms',
        start_interval: '100ms',
        retries: 100,
      },
    });
    const result = await apply(file);
    expect(result.code, result.stdout + result.stderr).toBe(EXIT.ok);
    const probes = events(result.stdout).filter((e) => e.event === 'service.probe') as unknown as {
      ok: boolean;
      phase: string;
    }[];
    // The round before the start cannot see output of this run; then some rounds fail before the line.
    expect(probes.filter((p) => p.phase === 'verify' && !p.ok).length).toBeGreaterThan(0);
    expect(probes.at(-1)?.ok).toBe(true);
    await runCli(['down', file, '--yes'], {
      env: { RESTORE_STATE_DIR: join(dir, 'state') },
      timeoutMs: CLI_MS,
    });
  });

  it("a one-shot start command's output counts too", async () => {
    const file = probePlan(workDir(), [{ log: { matches: '^migrations: (\\d+) applied' } }], {
      start: [process.execPath, '-e', 'console.log("migrations: 3 applied")'],
      health: {
        checks: [{ log: { matches: '^migrations: (\\d+) applied' } }],
        interval: '100ms',
        retries: 3,
      },
    });
    const result = await apply(file);
    expect(result.code, result.stdout + result.stderr).toBe(EXIT.ok);
  });

  it('a pattern that never matches fails with what was expected and what came back', async () => {
    const dir = workDir();
    const file = probePlan(dir, [], {
      start: printsLater(0.1, 'listening on 8080'),
      health: {
        checks: [{ log: { matches: 'ready to accept' } }],
        interval: '100ms',
        start_interval: '100ms',
        retries: 4,
      },
    });
    const result = await apply(file);
    expect(result.code).toBe(EXIT.failed);
    expect(result.failed?.message).toMatch(
      /log \/ready to accept\/: expected a line matching \/ready to accept\/: \d+ lines?, none matching; last: "(starting|listening on 8080)"/,
    );
  });

  it('plan --live says log checks cannot be probed live', async () => {
    const file = probePlan(workDir(), [{ tcp: { port: 1 } }, { log: { matches: 'ready' } }]);
    const result = await runCli(['plan', file, '--live'], { timeoutMs: CLI_MS });
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain('log checks not probed live: they read the output of a run');
    expect(result.stdout).toContain('log line matches /ready/');
  });
});

describe('SPEC 2 and 11: the new checks are validated with line and column', () => {
  it('a regex that does not compile, a port out of range and an unknown key are each reported where they are', async () => {
    const dir = workDir();
    const file = join(dir, 'plan.yaml');
    writeFileSync(
      file,
      [
        'version: 1',
        'name: bad',
        'services:',
        '  a:',
        '    health:',
        '      - log: { matches: "ready (" }',
        '      - postgres: { port: 70000 }',
        '      - redis: { pasword_env: X }',
        '',
      ].join('\n'),
    );
    const result = await runCli(['validate', file, '--format', 'json']);
    expect(result.code).toBe(EXIT.invalid);
    const diagnostics = JSON.parse(result.stdout) as {
      line: number;
      column: number;
      code: string;
      message: string;
      hint?: string;
    }[];
    expect(diagnostics).toContainEqual(
      expect.objectContaining({
        line: 6,
        code: 'invalid-value',
        message: expect.stringContaining('not a valid regular expression'),
      }),
    );
    expect(diagnostics).toContainEqual(
      expect.objectContaining({ line: 7, column: 27, code: 'invalid-value' }),
    );
    expect(diagnostics).toContainEqual(
      expect.objectContaining({
        line: 8,
        code: 'unknown-key',
        hint: expect.stringContaining('password_env'),
      }),
    );
  });
});
