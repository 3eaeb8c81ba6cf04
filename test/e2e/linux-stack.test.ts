// The real-world example plans/examples/linux-stack.yaml, restored for real: PostgreSQL, Redis,
// nginx and a Node app, started, partly killed, restored again and taken down by the real CLI.
// PostgreSQL refuses to run as root, so as root (CI) the CLI runs as the unprivileged user
// `restore-e2e`, from a copy of what it needs in a directory that user can read.
// The servers must be installed (CI: apt-get install postgresql redis-server nginx): without
// them this test fails, it never skips.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, cpSync, existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { type CliResult, hasStackTrace, ROOT, runCli } from '../helpers/cli.js';
import { events } from '../helpers/e2e.js';
import { freePorts, listening } from '../helpers/ports.js';
import { eventually, isAlive, killDaemonsUnder } from '../helpers/processes.js';
import { useTempDir } from '../helpers/tmp.js';

const PLAN = 'plans/examples/linux-stack.yaml';
const USER = 'restore-e2e';
const AS_ROOT = process.getuid?.() === 0;
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const CLI_TIMEOUT_MS = 45_000;

const tempDir = useTempDir();

/** Everything one run of the stack needs; `cleanup` undoes it whatever state it is in. */
interface Stack {
  dir: string;
  stackDir: string;
  stateDir: string;
  /** Where the plan is run from (the repository, or a copy readable by `restore-e2e`). */
  cwd: string;
  ports: { pg: number; redis: number; app: number; web: number };
  tools: Tools;
  prefix: string[];
  env: Record<string, string>;
}
const stacks: Stack[] = [];

afterEach(() => {
  for (const stack of stacks.splice(0)) cleanup(stack);
});

interface Tools {
  pgBin: string;
  nginx: string;
  redisServer: string;
  redisCli: string;
}

/** The servers the plan runs; a clear failure (not a skip) when one is missing. */
function findTools(): Tools {
  const onPath = (name: string) =>
    [...(process.env.PATH ?? '').split(delimiter), ...SYSTEM_PATH.split(':')]
      .map((dir) => join(dir, name))
      .find((file) => executable(file));
  const pgBin = postgresBinDir();
  const tools = {
    pgBin: pgBin ?? '',
    nginx: onPath('nginx') ?? '',
    redisServer: onPath('redis-server') ?? '',
    redisCli: onPath('redis-cli') ?? '',
  };
  const missing = [
    ...(pgBin ? [] : ['PostgreSQL server binaries (initdb, pg_ctl, pg_isready)']),
    ...(tools.nginx ? [] : ['nginx']),
    ...(tools.redisServer ? [] : ['redis-server']),
    ...(tools.redisCli ? [] : ['redis-cli']),
  ];
  if (missing.length > 0) {
    throw new Error(
      `the linux-stack end-to-end test needs real servers; missing: ${missing.join(', ')}. ` +
        'On Debian/Ubuntu: apt-get install -y postgresql redis-server nginx',
    );
  }
  return tools;
}

/** The newest /usr/lib/postgresql/<version>/bin with the server tools, else `pg_config --bindir`. */
function postgresBinDir(): string | undefined {
  const hasServer = (dir: string) =>
    ['initdb', 'pg_ctl', 'pg_isready'].every((t) => executable(join(dir, t)));
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+(\.\d+)?$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const version of versions) {
    if (hasServer(join(root, version, 'bin'))) return join(root, version, 'bin');
  }
  const fromPgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const bindir = fromPgConfig.status === 0 ? fromPgConfig.stdout.trim() : '';
  return bindir && hasServer(bindir) ? bindir : undefined;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The unprivileged user the stack runs as under root, created when missing. */
function ensureUser(): void {
  if (spawnSync('id', ['-u', USER]).status === 0) return;
  const made = spawnSync('useradd', ['--create-home', '--shell', '/bin/sh', USER], { encoding: 'utf8' });
  // Another test process may have created it meanwhile (exit 9: already exists).
  if (made.status !== 0 && spawnSync('id', ['-u', USER]).status !== 0) {
    throw new Error(`cannot create user ${USER}: ${made.stderr}`);
  }
}

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** Sets up a fresh stack directory, ports and the way the CLI is run (as whom, from where). */
async function prepare(): Promise<Stack> {
  const tools = findTools();
  const dir = tempDir();
  const [pg, redis, app, web] = (await freePorts(4)) as [number, number, number, number];
  const stack: Stack = {
    dir,
    stackDir: join(dir, 'stack'),
    stateDir: join(dir, 'state'),
    cwd: ROOT,
    ports: { pg, redis, app, web },
    tools,
    prefix: [],
    env: {},
  };
  stacks.push(stack);
  let nodeDir = dirname(process.execPath);
  if (AS_ROOT) {
    ensureUser();
    // A copy of what the CLI needs: the repository may not be readable by restore-e2e. The
    // bundle, and the runtime packages it loads from node_modules (the package's dependencies).
    const cli = join(dir, 'cli');
    const runtime = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((path) => path.startsWith(join(ROOT, 'node_modules')))
      .map((path) => relative(ROOT, path));
    for (const part of [
      'bin',
      'dist/bundle',
      'package.json',
      'plans/examples',
      'plans/schema.json',
      ...runtime,
    ]) {
      cpSync(join(ROOT, part), join(cli, part), { recursive: true });
    }
    execFileSync('chown', ['-R', `${USER}:${USER}`, dir]);
    const setpriv = ['setpriv', `--reuid=${USER}`, `--regid=${USER}`, '--init-groups'];
    if (spawnSync(setpriv[0]!, [...setpriv.slice(1), 'test', '-w', dir]).status !== 0) {
      throw new Error(`${USER} cannot reach ${dir}: point TMPDIR at a directory every user can enter`);
    }
    // Node itself may live where restore-e2e cannot reach (a version manager under /root).
    let node = process.execPath;
    if (spawnSync(setpriv[0]!, [...setpriv.slice(1), node, '-e', '0']).status !== 0) {
      node = join(cli, 'node');
      cpSync(process.execPath, node);
      execFileSync('chown', [`${USER}:${USER}`, node]);
      nodeDir = cli;
    }
    // runCli runs `<prefix> <node> <repo bin/restore.js> <args>`: the shell swaps in the copies.
    const script = `shift; exec ${quote(node)} ${quote(join(cli, 'bin/restore.js'))} "$@"`;
    stack.prefix = [...setpriv, '/bin/sh', '-c', script];
    stack.cwd = cli;
    stack.env = { HOME: dir, USER, LOGNAME: USER };
  }
  Object.assign(stack.env, {
    // The plan runs `node app.mjs`, redis-server and redis-cli from PATH.
    PATH: [...new Set([nodeDir, dirname(tools.redisServer), dirname(tools.redisCli), SYSTEM_PATH])].join(':'),
    STACK_DIR: stack.stackDir,
    PG_PORT: String(pg),
    REDIS_PORT: String(redis),
    APP_PORT: String(app),
    WEB_PORT: String(web),
    PG_BIN: tools.pgBin,
    NGINX: tools.nginx,
  });
  return stack;
}

async function cli(stack: Stack, args: string[]): Promise<CliResult> {
  const result = await runCli(args, {
    cwd: stack.cwd,
    env: stack.env,
    prefix: stack.prefix,
    timeoutMs: CLI_TIMEOUT_MS,
  });
  expect(hasStackTrace(result.stdout + result.stderr), result.stderr).toBe(false);
  return result;
}

const apply = (stack: Stack, ...flags: string[]) =>
  cli(stack, ['apply', PLAN, '--state-dir', stack.stateDir, ...flags]);

const SERVICES = ['layout', 'pg-init', 'postgres', 'redis', 'app', 'nginx-conf', 'nginx'];

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

/**
 * Live processes of this stack, with their command lines: any whose command line, working
 * directory or environment mentions the temporary directory. Servers rename themselves
 * (`postgres: checkpointer`, `redis-server 127.0.0.1:port`), but they keep the cwd and the
 * STACK_DIR variable restore gave them.
 */
function stackProcesses(dir: string): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const pid = Number(entry);
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      let mentions = cmdline.includes(dir);
      if (!mentions) {
        try {
          mentions = readlinkSync(`/proc/${entry}/cwd`).startsWith(dir);
        } catch {
          // not ours to read
        }
      }
      if (!mentions) {
        try {
          mentions = readFileSync(`/proc/${entry}/environ`, 'utf8').includes(`STACK_DIR=${dir}`);
        } catch {
          // not ours to read
        }
      }
      if (mentions && isAlive(pid)) found.push({ pid, cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Clean-up whatever happened: PostgreSQL stopped properly if it can be, then everything killed. */
function cleanup(stack: Stack): void {
  if (existsSync(join(stack.stackDir, 'pg', 'postmaster.pid'))) {
    const pgCtl = [
      join(stack.tools.pgBin, 'pg_ctl'),
      '-D',
      join(stack.stackDir, 'pg'),
      '-m',
      'immediate',
      'stop',
    ];
    const argv = AS_ROOT
      ? ['setpriv', `--reuid=${USER}`, `--regid=${USER}`, '--init-groups', ...pgCtl]
      : pgCtl;
    spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore', timeout: 15_000 });
  }
  killDaemonsUnder(stack.stateDir);
  for (const { pid } of stackProcesses(stack.dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

const pidIn = (file: string) => Number(readFileSync(file, 'utf8').split('\n')[0]!.trim());

describe('plans/examples/linux-stack.yaml: PostgreSQL, Redis, an app and nginx, for real', () => {
  it('restores the stack, restarts only the server that died, and takes it all down', async () => {
    const stack = await prepare();
    const { ports } = stack;

    // 1. A fresh restore: every service started and healthy, the app reachable through nginx.
    const first = await apply(stack, '--log-format', 'json');
    expect(first.code, first.stderr + first.stdout).toBe(EXIT.ok);
    const firstRun = events(first.stdout).find((e) => e.event === 'run.finished')!;
    expect(firstRun.result).toBe('succeeded');
    for (const name of SERVICES) expect(firstRun.services![name], name).toMatchObject({ result: 'healthy' });
    expect(await httpGet(ports.web, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    for (const port of Object.values(ports)) expect(await listening(port), `port ${port}`).toBe(true);
    const ping = spawnSync(stack.tools.redisCli, ['-h', '127.0.0.1', '-p', String(ports.redis), 'ping'], {
      encoding: 'utf8',
    });
    expect(ping.stdout.trim()).toBe('PONG');

    const pids = {
      postgres: pidIn(join(stack.stackDir, 'pg', 'postmaster.pid')),
      nginx: pidIn(join(stack.stackDir, 'nginx', 'nginx.pid')),
      app: pidIn(join(stack.stateDir, 'linux-stack', 'services', 'app.pid')),
      redis: pidIn(join(stack.stateDir, 'linux-stack', 'services', 'redis.pid')),
    };
    for (const [name, pid] of Object.entries(pids)) expect(isAlive(pid), name).toBe(true);

    // 2. Redis dies for real.
    const shutdown = spawnSync(
      stack.tools.redisCli,
      ['-h', '127.0.0.1', '-p', String(ports.redis), 'shutdown', 'nosave'],
      { encoding: 'utf8' },
    );
    expect(shutdown.status, shutdown.stderr).toBe(0);
    await waitFor(async () => !(await listening(ports.redis)), 'Redis to go down');
    await eventually(() => !isAlive(pids.redis), 'the Redis process to exit');

    // 3. Restore again: only Redis is started; everything else is found healthy and left alone.
    const second = await apply(stack, '--log-format', 'json');
    expect(second.code, second.stderr + second.stdout).toBe(EXIT.ok);
    const secondEvents = events(second.stdout);
    expect(secondEvents.filter((e) => e.event === 'service.starting').map((e) => e.service)).toEqual([
      'redis',
    ]);
    const secondRun = secondEvents.find((e) => e.event === 'run.finished')!;
    expect(secondRun.result).toBe('succeeded');
    for (const name of SERVICES) {
      expect(secondRun.services![name], name).toMatchObject({
        result: name === 'redis' ? 'healthy' : 'already-healthy',
      });
    }
    expect(pidIn(join(stack.stackDir, 'pg', 'postmaster.pid'))).toBe(pids.postgres);
    expect(pidIn(join(stack.stackDir, 'nginx', 'nginx.pid'))).toBe(pids.nginx);
    expect(pidIn(join(stack.stateDir, 'linux-stack', 'services', 'app.pid'))).toBe(pids.app);
    const newRedis = pidIn(join(stack.stateDir, 'linux-stack', 'services', 'redis.pid'));
    expect(newRedis).not.toBe(pids.redis);
    expect(isAlive(newRedis)).toBe(true);
    expect(await httpGet(ports.web, '/healthz')).toEqual({ status: 200, body: 'ok\n' });

    const status = await cli(stack, ['status', PLAN, '--state-dir', stack.stateDir, '--format', 'json']);
    expect(status.code, status.stderr).toBe(EXIT.ok);
    const state = JSON.parse(status.stdout) as {
      state: string;
      services: Record<string, { result: string; attempts: number }>;
    };
    expect(state.state).toBe('succeeded');
    expect(state.services.redis).toMatchObject({ result: 'healthy', attempts: 1 });
    expect(state.services.postgres).toMatchObject({ result: 'already-healthy', attempts: 0 });
    expect(state.services.nginx).toMatchObject({ result: 'already-healthy', attempts: 0 });

    // 4. Down: every server stopped, every port closed, no process of this stack left.
    const down = await cli(stack, ['down', PLAN, '--state-dir', stack.stateDir, '--yes']);
    expect(down.code, down.stderr + down.stdout).toBe(EXIT.ok);
    for (const port of Object.values(ports)) expect(await listening(port), `port ${port}`).toBe(false);
    expect(existsSync(join(stack.stackDir, 'pg', 'postmaster.pid'))).toBe(false);
    // Exited processes may take a moment to be reaped; whatever is still there is named.
    const gone = () => stackProcesses(stack.dir).length === 0;
    await eventually(gone, 'the stack to exit', 10_000).catch(() => undefined);
    expect(stackProcesses(stack.dir), 'processes of the stack left running').toEqual([]);
    for (const [name, pid] of Object.entries({ ...pids, redis: newRedis })) {
      expect(isAlive(pid), name).toBe(false);
    }
  }, 60_000);
  it('a drill of the stack: everything started, then everything stopped again, every port closed', async () => {
    const stack = await prepare();
    const { ports } = stack;
    const drill = await cli(stack, ['drill', PLAN, '--state-dir', stack.stateDir, '--log-format', 'json']);
    expect(drill.code, drill.stderr + drill.stdout).toBe(EXIT.ok);
    const seen = events(drill.stdout);
    const finished = seen.find((e) => e.event === 'run.finished')!;
    for (const name of SERVICES) expect(finished.services![name], name).toMatchObject({ result: 'healthy' });
    // Torn down after the run, dependents first; the one-shots have nothing running to stop.
    const tornDown = seen.filter((e) => e.event === 'service.torn-down');
    const order = tornDown.map((e) => e.service!);
    expect([...order].sort()).toEqual([...SERVICES].sort());
    const before = (a: string, b: string) =>
      expect(order.indexOf(a), `${a} before ${b}`).toBeLessThan(order.indexOf(b));
    for (const [a, b] of [
      ['nginx', 'app'],
      ['nginx', 'nginx-conf'],
      ['app', 'postgres'],
      ['app', 'redis'],
      ['postgres', 'pg-init'],
      ['pg-init', 'layout'],
    ] as const)
      before(a, b);
    for (const e of tornDown) expect(e, e.service).toMatchObject({ ok: true });
    expect(seen.at(-1)).toMatchObject({ event: 'drill.torn-down', failed: [] });
    for (const port of Object.values(ports)) expect(await listening(port), `port ${port}`).toBe(false);
    expect(existsSync(join(stack.stackDir, 'pg', 'postmaster.pid'))).toBe(false);
    await eventually(() => stackProcesses(stack.dir).length === 0, 'the stack to exit', 10_000).catch(
      () => undefined,
    );
    expect(stackProcesses(stack.dir), 'processes of the stack left running').toEqual([]);
    const status = await cli(stack, ['status', PLAN, '--state-dir', stack.stateDir]);
    expect(status.stdout.split('\n')[0]).toMatch(/^DRILL plan linux-stack: run \S+ succeeded; torn down/);
  }, 60_000);
});
