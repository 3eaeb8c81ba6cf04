import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { hasStackTrace, runCli, spawnCli } from '../helpers/cli.js';
import { daemon, events, FIXTURE, tcp, useWorkDirs } from '../helpers/e2e.js';
import { freePorts, listening } from '../helpers/ports.js';
import { eventually, isAlive, processesWith } from '../helpers/processes.js';
import { useRemoteWorkDirs, useSshd } from '../helpers/sshd.js';
import { useTempDir, writeFile } from '../helpers/tmp.js';

/**
 * SPEC section 10, Drills: `restore drill` runs the plan as apply does, then stops everything it
 * started, whatever happened, through the real CLI against real daemons on 127.0.0.1.
 */
const workDir = useWorkDirs();

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

const drill = (dir: string, ...args: string[]) =>
  runCli(['drill', 'plan.yaml', '--state-dir', 'state', ...args], { cwd: dir, timeoutMs: 60_000 });

function plan(dir: string, body: Record<string, unknown>): void {
  writeFile(dir, 'plan.yaml', JSON.stringify({ version: 1, name: 'rehearse', ...body }, null, 2));
}

const pidOf = (dir: string, service: string) => {
  const file = join(dir, 'state', 'rehearse', 'services', `${service}.pid`);
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : undefined;
};

/** The daemon pids the run recorded as healthy, from the journal (pid files go when stopped). */
function healthyPids(dir: string): Record<string, number> {
  const journal = readFileSync(latestJournal(dir), 'utf8').trim().split('\n');
  const out: Record<string, number> = {};
  for (const line of journal) {
    const entry = JSON.parse(line) as { event: string; service?: string; service_pid?: number | null };
    if (entry.event === 'service.healthy' && entry.service && entry.service_pid)
      out[entry.service] = entry.service_pid;
  }
  return out;
}

function latestJournal(dir: string): string {
  const runs = join(dir, 'state', 'rehearse', 'runs');
  const names = readdirSync(runs)
    .filter((name) => name.endsWith('.jsonl'))
    .sort();
  return join(runs, names.at(-1)!);
}

function journalEvents(dir: string): { event: string; [key: string]: unknown }[] {
  return readFileSync(latestJournal(dir), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { event: string });
}

/** A plan of two daemons (api after db), a one-shot between them, and one service already up. */
async function stackPlan(dir: string, apiStart: unknown = undefined) {
  const [db, api, outside] = (await freePorts(3)) as [number, number, number];
  const server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(outside, '127.0.0.1', resolve));
  servers.push(server);
  plan(dir, {
    services: {
      db: { start: daemon('--listen', db), health: tcp(db) },
      migrate: { depends_on: ['db'], start: 'true' },
      api: { depends_on: ['migrate'], start: apiStart ?? daemon('--listen', api), health: tcp(api) },
      proxy: { start: daemon('--listen', outside), health: tcp(outside) },
    },
  });
  return { db, api, outside };
}

describe('SPEC 10 restore drill: a rehearsal that leaves nothing running', () => {
  it('runs the plan as apply does, then stops what it started in reverse order; what it found up stays', async () => {
    const dir = workDir();
    const ports = await stackPlan(dir);
    const result = await drill(dir, '--log-format', 'json');
    expect(result.code, result.stderr).toBe(EXIT.ok);
    const seen = events(result.stdout);
    const finished = seen.findIndex((e) => e.event === 'run.finished');
    expect(seen[finished]!.services).toMatchObject({
      db: { result: 'healthy' },
      api: { result: 'healthy' },
      proxy: { result: 'already-healthy' },
    });
    // After the run: api, then the one-shot (left alone), then db; proxy, not started, untouched.
    const tornDown = seen.slice(finished).filter((e) => e.event === 'service.torn-down');
    expect(tornDown.map((e) => [e.service, (e as { action?: string }).action])).toEqual([
      ['api', 'signal'],
      ['migrate', 'left-alone'],
      ['db', 'signal'],
    ]);
    expect(seen.at(-1)).toMatchObject({
      event: 'drill.torn-down',
      stopped: ['api', 'db'],
      failed: [],
      left_running: ['proxy'],
    });
    const pids = healthyPids(dir);
    expect(Object.keys(pids).sort()).toEqual(['api', 'db']);
    for (const pid of Object.values(pids)) expect(isAlive(pid)).toBe(false);
    expect(await listening(ports.db)).toBe(false);
    expect(await listening(ports.api)).toBe(false);
    expect(await listening(ports.outside)).toBe(true);

    const started = journalEvents(dir)[0]!;
    expect(started).toMatchObject({ event: 'run.started', mode: 'drill' });
    expect(started.hosts).toBeUndefined();

    // status and report say DRILL first, with the times achieved.
    const status = await runCli(['status', 'plan.yaml', '--state-dir', 'state'], { cwd: dir });
    expect(status.stdout.split('\n')[0]).toMatch(
      /^DRILL plan rehearse: run \S+ succeeded; torn down \(2 stopped\)$/,
    );
    expect(status.stdout).toMatch(/took \d/);
    const json = JSON.parse(
      (await runCli(['status', 'plan.yaml', '--state-dir', 'state', '--format', 'json'], { cwd: dir }))
        .stdout,
    ) as Record<string, unknown>;
    expect(json).toMatchObject({ mode: 'drill', teardown: { finished: true, stopped: ['api', 'db'] } });
    const report = (format: string) =>
      runCli(['report', 'plan.yaml', '--state-dir', 'state', '--format', format], { cwd: dir });
    expect((await report('markdown')).stdout.split('\n')[0]).toBe('# DRILL Restoration report: `rehearse`');
    expect(JSON.parse((await report('json')).stdout)).toMatchObject({ mode: 'drill' });
    // XML's first line must be its declaration: DRILL is in the suites' name, the line after.
    expect((await report('junit')).stdout.split('\n')[1]).toContain('name="DRILL restore rehearse"');
    // An apply's run says apply.
    expect(
      (await runCli(['apply', 'plan.yaml', '--state-dir', 'state', '--only', 'db'], { cwd: dir })).code,
    ).toBe(EXIT.ok);
    expect(journalEvents(dir)[0]).toMatchObject({ event: 'run.started', mode: 'apply' });
    const applied = await runCli(['status', 'plan.yaml', '--state-dir', 'state'], { cwd: dir });
    expect(applied.stdout.split('\n')[0]).toMatch(/^plan rehearse: run \S+ succeeded$/);
  }, 90_000);

  it('takes every flag of apply, and its own --hosts', async () => {
    const help = await runCli(['drill', '--help']);
    expect(help.code).toBe(EXIT.ok);
    for (const flag of [
      '--hosts <file>',
      '--yes',
      '--approve <stage>',
      '--concurrency <n>',
      '--only <services>',
      '--resume',
      '--on-failure <what>',
      '--state-dir <dir>',
      '--log-format <format>',
    ])
      expect(help.stdout).toContain(flag);
  });

  it('a failed drill still tears down what it started, and exits 3', async () => {
    const dir = workDir();
    const ports = await stackPlan(dir, daemon('--exit', 1));
    const result = await drill(dir);
    expect(result.code, result.stderr).toBe(EXIT.failed);
    expect(result.stdout).toMatch(/db\s+torn down: stopped daemon pid \d+/);
    expect(result.stdout).toMatch(/api\s+torn down: /);
    expect(result.stdout).toContain('drill teardown: 2 services stopped');
    expect(await listening(ports.db)).toBe(false);
    for (const pid of Object.values(healthyPids(dir))) expect(isAlive(pid)).toBe(false);
  }, 90_000);

  it('SIGINT mid-drill: nothing new starts, and what had started is torn down (exit 130)', async () => {
    const dir = workDir();
    const ports = await stackPlan(dir, daemon('--delay', 60_000, '--listen', (await freePorts(1))[0]!));
    const run = spawnCli(['drill', 'plan.yaml', '--state-dir', 'state'], { cwd: dir, timeoutMs: 60_000 });
    await eventually(() => pidOf(dir, 'api') !== undefined, 'api to start', 30_000);
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code, result.stderr).toBe(EXIT.sigint);
    expect(result.stdout).toMatch(/db\s+torn down/);
    expect(await listening(ports.db)).toBe(false);
    expect(pidOf(dir, 'db')).toBeUndefined();
    expect(pidOf(dir, 'api')).toBeUndefined();
    expect(result.stderr).toContain('restore drill plan.yaml --resume');
  }, 90_000);

  it('a stop before a stage that needs approval (exit 4) tears down the stages before it', async () => {
    const dir = workDir();
    const [db, api] = (await freePorts(2)) as [number, number];
    plan(dir, {
      stages: [{ name: 'core' }, { name: 'apps', approval: true }],
      services: {
        db: { stage: 'core', start: daemon('--listen', db), health: tcp(db) },
        api: { stage: 'apps', depends_on: ['db'], start: daemon('--listen', api), health: tcp(api) },
      },
    });
    const result = await drill(dir);
    expect(result.code, result.stderr).toBe(EXIT.awaitingApproval);
    expect(result.stdout).toMatch(/db\s+torn down/);
    expect(await listening(db)).toBe(false);
    expect(pidOf(dir, 'db')).toBeUndefined();
    expect(result.stderr).toContain('restore drill plan.yaml --resume --approve apps');
  }, 90_000);

  it('kill -9 mid-drill: restore drill --resume finishes the run and tears it down', async () => {
    const dir = workDir();
    const [db, api] = (await freePorts(2)) as [number, number];
    plan(dir, {
      services: {
        db: { start: daemon('--listen', db), health: tcp(db) },
        api: { depends_on: ['db'], start: daemon('--delay', 3000, '--listen', api), health: tcp(api) },
      },
    });
    const run = spawnCli(['drill', 'plan.yaml', '--state-dir', 'state'], { cwd: dir, timeoutMs: 60_000 });
    await eventually(() => pidOf(dir, 'api') !== undefined, 'api to start', 30_000);
    run.child.kill('SIGKILL');
    await run.done;
    const dbPid = pidOf(dir, 'db')!;
    expect(isAlive(dbPid)).toBe(true);
    const resumed = await drill(dir, '--resume');
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    expect(resumed.stdout).toMatch(/api\s+torn down/);
    expect(resumed.stdout).toMatch(/db\s+torn down/);
    expect(isAlive(dbPid)).toBe(false);
    expect(await listening(db)).toBe(false);
    expect(await listening(api)).toBe(false);
    expect(pidOf(dir, 'api')).toBeUndefined();
    expect(journalEvents(dir).at(-1)).toMatchObject({ event: 'drill.torn-down', stopped: ['api', 'db'] });
  }, 90_000);

  it('kill -9 mid-drill: restore down stops what it left', async () => {
    const dir = workDir();
    const [db, api] = (await freePorts(2)) as [number, number];
    plan(dir, {
      services: {
        db: { start: daemon('--listen', db), health: tcp(db) },
        api: { depends_on: ['db'], start: daemon('--delay', 60_000, '--listen', api), health: tcp(api) },
      },
    });
    const run = spawnCli(['drill', 'plan.yaml', '--state-dir', 'state'], { cwd: dir, timeoutMs: 60_000 });
    await eventually(() => pidOf(dir, 'api') !== undefined, 'api to start', 30_000);
    run.child.kill('SIGKILL');
    await run.done;
    const pids = [pidOf(dir, 'db')!, pidOf(dir, 'api')!];
    for (const pid of pids) expect(isAlive(pid)).toBe(true);
    // The killed drill is not an apply's to continue.
    const apply = await runCli(['apply', 'plan.yaml', '--state-dir', 'state', '--resume'], { cwd: dir });
    expect(apply.code).toBe(EXIT.usage);
    expect(apply.stderr).toMatch(/is a drill: continue it with restore drill plan\.yaml --resume/);
    const down = await runCli(['down', 'plan.yaml', '--state-dir', 'state', '--yes'], { cwd: dir });
    expect(down.code, down.stderr).toBe(EXIT.ok);
    await eventually(() => pids.every((pid) => !isAlive(pid)), 'the drill to be down', 15_000);
    expect(await listening(db)).toBe(false);
  }, 90_000);
});

describe('SPEC 10 a teardown that does not finish', () => {
  it('a service the teardown cannot stop: exit 3 although the run succeeded, naming it and how to stop it', async () => {
    const dir = workDir();
    const [db] = (await freePorts(1)) as [number];
    plan(dir, { services: { db: { start: daemon('--listen', db), stop: 'false', health: tcp(db) } } });
    const result = await drill(dir);
    expect(result.code, result.stderr).toBe(EXIT.failed);
    expect(result.stdout).toMatch(/db\s+teardown FAILED: stop command: exited with code 1/);
    expect(result.stderr).toContain("the drill's teardown could not stop db");
    expect(result.stderr).toContain('restore down plan.yaml --only db --yes --state-dir state');
    const status = await runCli(['status', 'plan.yaml', '--state-dir', 'state'], { cwd: dir });
    expect(status.stdout.split('\n')[0]).toMatch(
      /^DRILL .* succeeded; torn down \(0 stopped, FAILED to stop db\)$/,
    );
  }, 90_000);

  it('killed during its teardown: restore drill --resume finishes the teardown alone', async () => {
    const dir = workDir();
    const [db] = (await freePorts(1)) as [number];
    const pidFile = join(dir, 'state', 'rehearse', 'services', 'db.pid');
    // The first stop hangs (restore is killed meanwhile); the second stops the daemon.
    const stop = `if [ -e stopping ]; then kill $(head -n 1 ${pidFile}); else touch stopping; exec ${process.execPath} ${FIXTURE} --delay 30000 --exit 0 --name ${dir}; fi`;
    plan(dir, {
      services: { db: { start: daemon('--listen', db), stop: { run: stop, shell: true }, health: tcp(db) } },
    });
    const run = spawnCli(['drill', 'plan.yaml', '--state-dir', 'state'], { cwd: dir, timeoutMs: 60_000 });
    await eventually(() => existsSync(join(dir, 'stopping')), 'the teardown to start', 30_000);
    run.child.kill('SIGKILL');
    await run.done;
    const pid = pidOf(dir, 'db')!;
    expect(isAlive(pid)).toBe(true);
    const before = await runCli(['status', 'plan.yaml', '--state-dir', 'state'], { cwd: dir });
    expect(before.stdout.split('\n')[0]).toMatch(/succeeded; teardown not finished/);
    const resumed = await drill(dir, '--resume');
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    expect(resumed.stderr).toMatch(/succeeded but its teardown did not finish: tearing down now/);
    await eventually(() => !isAlive(pid), 'the daemon to stop', 15_000);
    expect(await listening(db)).toBe(false);
    const journal = journalEvents(dir).map((e) => e.event);
    // The run is not run again: the teardown alone is added to its journal.
    expect(journal).not.toContain('run.resumed');
    expect(journal.at(-1)).toBe('drill.torn-down');
  }, 90_000);
});

describe('SPEC 10 restore drill --hosts: every plan host mapped, nothing else', () => {
  const hostsPlan = (dir: string) =>
    plan(dir, {
      hosts: { 'db-1': { address: '192.0.2.1' }, 'web-1': { address: '192.0.2.2' } },
      services: { db: { host: 'db-1', start: 'true' }, web: { host: 'web-1', start: 'true' } },
    });

  const refused = async (dir: string, hosts: string, code: number, message: RegExp) => {
    writeFile(dir, 'stand-ins.yaml', hosts);
    const result = await drill(dir, '--hosts', 'stand-ins.yaml');
    expect(result.code, result.stderr).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(hasStackTrace(result.stderr)).toBe(false);
    expect(existsSync(join(dir, 'state', 'rehearse', 'runs'))).toBe(false);
  };

  it('a plan host left out: exit 1 naming it', async () => {
    const dir = workDir();
    hostsPlan(dir);
    await refused(dir, 'db-1: { address: 127.0.0.1 }\n', EXIT.invalid, /no stand-in for host "web-1"/);
  });

  it('a name that is not a plan host: exit 1 with a suggestion', async () => {
    const dir = workDir();
    hostsPlan(dir);
    await refused(
      dir,
      'db-1: { address: 127.0.0.1 }\nweb-1: { address: 127.0.0.1 }\nweb-2: { address: 127.0.0.1 }\n',
      EXIT.invalid,
      /stand-ins\.yaml:3:1: "web-2" is not a host of plan rehearse \(did you mean "web-1"\?/,
    );
  });

  it('not YAML, or not a mapping, or a bad key: exit 1 with line and column; a missing file: exit 2', async () => {
    const dir = workDir();
    hostsPlan(dir);
    await refused(dir, 'db-1: { address: [127.0.0.1\n', EXIT.invalid, /stand-ins\.yaml:\d+:\d+: /);
    await refused(dir, '- db-1\n- web-1\n', EXIT.invalid, /stand-ins\.yaml:1:1: a hosts file is a mapping/);
    await refused(
      dir,
      'db-1: { address: 127.0.0.1 }\nweb-1: { address: 127.0.0.1, prot: 22 }\n',
      EXIT.invalid,
      /stand-ins\.yaml:2:\d+: hosts\.web-1/,
    );
    const missing = await drill(dir, '--hosts', 'nowhere.yaml');
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toContain('nowhere.yaml');
  });
});

describe('SPEC 10 restore drill --hosts against a real sshd', () => {
  const sshd = useSshd();
  const remoteDir = useRemoteWorkDirs(useTempDir());

  it('the plan host (a TEST-NET address) is never reached: every command and check goes to its stand-in', async () => {
    const dir = remoteDir();
    const [port] = (await freePorts(1)) as [number];
    // A real plan's host: nothing answers at 192.0.2.1, so a command sent there would fail the run.
    writeFile(
      dir,
      'plan.yaml',
      JSON.stringify({
        version: 1,
        name: 'rehearse',
        hosts: { 'db-1': { address: '192.0.2.1', user: 'ops', ssh_options: { ConnectTimeout: 2 } } },
        services: {
          web: {
            host: 'db-1',
            start: {
              run: [
                'node',
                '-e',
                `require('http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1'); // ${dir}`,
              ],
              daemon: true,
            },
            health: {
              checks: [
                { tcp: { port } },
                { http: { url: `:${port}/`, body_contains: 'ok' } },
                { exec: 'true' },
              ],
              interval: '100ms',
              start_interval: '50ms',
              retries: 50,
            },
          },
        },
      }),
    );
    writeFile(dir, 'stand-ins.yaml', JSON.stringify({ 'db-1': sshd().host() }));
    const result = await runCli(
      ['drill', 'plan.yaml', '--state-dir', join(dir, 'state'), '--hosts', 'stand-ins.yaml'],
      { cwd: dir, timeoutMs: 60_000 },
    );
    expect(result.code, result.stdout + result.stderr).toBe(EXIT.ok);
    expect(result.stdout).toMatch(/web\s+healthy/);
    expect(result.stdout).toMatch(/web\s+torn down: stopped daemon pid \d+ on db-1/);
    expect(await listening(port)).toBe(false);
    await eventually(() => processesWith(dir).length === 0, 'the remote daemon to be gone');
    const runs = join(dir, 'state', 'rehearse', 'runs');
    const journal = readFileSync(join(runs, readdirSync(runs).find((f) => f.endsWith('.jsonl'))!), 'utf8');
    const started = JSON.parse(journal.split('\n')[0]!) as { mode: string; hosts: Record<string, unknown> };
    expect(started.mode).toBe('drill');
    expect(started.hosts['db-1']).toMatchObject({ address: '127.0.0.1', port: sshd().port });
    // Every check and command of the run went to the stand-in: the real address appears nowhere.
    expect(journal).not.toContain('192.0.2.1');
    expect(journal).toContain(`127.0.0.1:${port}`);
  }, 90_000);
});
