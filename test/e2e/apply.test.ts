import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { hasStackTrace, runCli, spawnCli, whenOutput } from '../helpers/cli.js';
import { daemon, events, FIXTURE, tcp, useWorkDirs } from '../helpers/e2e.js';
import { freePorts } from '../helpers/ports.js';
import { eventually, isAlive } from '../helpers/processes.js';
import { writeFile } from '../helpers/tmp.js';

const workDir = useWorkDirs();

function plan(dir: string, services: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return writeFile(
    dir,
    'plan.yaml',
    JSON.stringify({ version: 1, name: 'e2e', ...extra, services }, null, 2),
  );
}

function records(dir: string): { name: string; event: string; at: number }[] {
  const file = join(dir, 'record.txt');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [name, event, at] = line.split(' ');
      return { name: name!, event: event!, at: Number(at) };
    });
}

async function apply(dir: string, args: string[] = [], env: Record<string, string> = {}) {
  const result = await runCli(['apply', 'plan.yaml', '--state-dir', join(dir, 'state'), ...args], {
    cwd: dir,
    env,
    timeoutMs: 60_000,
  });
  expect(hasStackTrace(result.stdout + result.stderr), result.stderr).toBe(false);
  return result;
}

describe('SPEC 4 apply: dependency order', () => {
  it('never starts a service before its dependencies are healthy', async () => {
    const dir = workDir();
    const [db, cache, api] = await freePorts(3);
    const record = join(dir, 'record.txt');
    plan(dir, {
      db: {
        start: daemon('--name', 'db', '--record', record, '--delay', 300, '--listen', db!),
        health: tcp(db!),
      },
      cache: {
        start: daemon('--name', 'cache', '--record', record, '--delay', 150, '--listen', cache!),
        health: tcp(cache!),
      },
      // Refuses to start (exits 1) unless both dependencies already listen.
      api: {
        depends_on: ['db', 'cache'],
        start: daemon(
          '--name',
          'api',
          '--record',
          record,
          '--require-port',
          db!,
          '--require-port',
          cache!,
          '--listen',
          api!,
        ),
        health: tcp(api!),
      },
    });
    const result = await apply(dir);
    expect(result.code, result.stdout + result.stderr).toBe(EXIT.ok);
    const log = records(dir);
    const at = (name: string, event: string) => log.find((r) => r.name === name && r.event === event)!.at;
    expect(at('api', 'started')).toBeGreaterThanOrEqual(at('db', 'listening'));
    expect(at('api', 'started')).toBeGreaterThanOrEqual(at('cache', 'listening'));
    expect(result.stdout).toMatch(/api\s+healthy\s+db\s+healthy|SERVICE/);
  });

  it('a second apply finds everything healthy and starts nothing (idempotent)', async () => {
    const dir = workDir();
    const [a, b] = await freePorts(2);
    const record = join(dir, 'record.txt');
    plan(dir, {
      a: { start: daemon('--name', 'a', '--record', record, '--listen', a!), health: tcp(a!) },
      b: {
        depends_on: ['a'],
        start: daemon('--name', 'b', '--record', record, '--listen', b!),
        health: tcp(b!),
      },
    });
    expect((await apply(dir)).code).toBe(EXIT.ok);
    const second = await apply(dir, ['--log-format', 'json']);
    expect(second.code).toBe(EXIT.ok);
    const finished = events(second.stdout).find((e) => e.event === 'run.finished')!;
    expect(finished.services).toMatchObject({
      a: { result: 'already-healthy' },
      b: { result: 'already-healthy' },
    });
    expect(records(dir).filter((r) => r.event === 'started')).toHaveLength(2);
  });
});

describe('SPEC 4 apply: failure semantics', () => {
  it('a failed critical service blocks its dependents, halts the run and exits 3', async () => {
    const dir = workDir();
    const [web] = await freePorts(1);
    plan(dir, {
      db: { start: [process.execPath, FIXTURE, '--exit', '7'], critical: true },
      api: { depends_on: ['db'], start: 'true' },
      web: { depends_on: ['api'], start: daemon('--listen', web!), health: tcp(web!) },
    });
    const result = await apply(dir, ['--log-format', 'json']);
    expect(result.code).toBe(EXIT.failed);
    const list = events(result.stdout);
    expect(list.find((e) => e.event === 'service.failed')).toMatchObject({
      service: 'db',
      reason: 'start-failed',
    });
    expect(list.find((e) => e.event === 'service.failed')!.message).toContain('exited with code 7');
    expect(list.filter((e) => e.event === 'service.blocked').map((e) => e.service)).toEqual(['api', 'web']);
    expect(list.some((e) => e.event === 'service.starting' && e.service !== 'db')).toBe(false);
  });

  it('a critical failure skips later stages; a non-critical one lets the rest go on and still exits 3', async () => {
    const dir = workDir();
    plan(
      dir,
      {
        flaky: { stage: 'one', critical: false, start: 'false' },
        solid: { stage: 'one', start: 'true' },
        after: { stage: 'two', depends_on: ['solid'], start: 'true' },
        needs_flaky: { stage: 'two', depends_on: ['flaky'], start: 'true' },
      },
      { stages: [{ name: 'one' }, { name: 'two' }] },
    );
    const result = await apply(dir, ['--log-format', 'json']);
    expect(result.code).toBe(EXIT.failed);
    const finished = events(result.stdout).find((e) => e.event === 'run.finished')!;
    expect(finished.services).toMatchObject({
      flaky: { result: 'failed' },
      solid: { result: 'healthy' },
      after: { result: 'healthy' },
      needs_flaky: { result: 'blocked' },
    });

    const critical = workDir();
    plan(
      critical,
      { bad: { stage: 'one', start: 'false' }, later: { stage: 'two', start: 'true' } },
      { stages: [{ name: 'one' }, { name: 'two' }] },
    );
    const halted = await apply(critical, ['--log-format', 'json']);
    expect(halted.code).toBe(EXIT.failed);
    expect(events(halted.stdout).find((e) => e.event === 'run.finished')!.services).toMatchObject({
      bad: { result: 'failed' },
      later: { result: 'skipped' },
    });
  });

  it('retries the start command after retry_delay', async () => {
    const dir = workDir();
    // Fails the first time (and leaves a marker), succeeds the second.
    plan(dir, {
      flaky: {
        retries: 2,
        retry_delay: '200ms',
        start: { run: 'if [ -f marker ]; then exit 0; else touch marker; exit 1; fi', shell: true },
      },
    });
    const started = Date.now();
    const result = await apply(dir, ['--log-format', 'json']);
    expect(result.code).toBe(EXIT.ok);
    const finished = events(result.stdout).find((e) => e.event === 'run.finished')!;
    expect(finished.services).toMatchObject({ flaky: { result: 'healthy', attempts: 2 } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
  });

  it('a service that never becomes healthy fails after `retries` failing rounds', async () => {
    const dir = workDir();
    const [port] = await freePorts(1);
    plan(dir, {
      never: {
        start: 'true',
        health: { checks: [{ tcp: { port } }], interval: '100ms', start_interval: '100ms', retries: 4 },
      },
    });
    const result = await apply(dir, ['--log-format', 'json']);
    expect(result.code).toBe(EXIT.failed);
    const list = events(result.stdout);
    const probes = list.filter(
      (e) => e.event === 'service.probe' && (e as { phase?: string }).phase === 'verify',
    );
    expect(probes).toHaveLength(4);
    expect(list.find((e) => e.event === 'service.failed')).toMatchObject({ reason: 'unhealthy' });
    expect(list.find((e) => e.event === 'service.failed')!.message).toMatch(
      /not healthy after 4 rounds.*connection refused/,
    );
  });

  it('a daemon that dies before it is healthy fails at once, not after the probe budget', async () => {
    const dir = workDir();
    const [port] = await freePorts(1);
    plan(dir, {
      dying: {
        start: daemon('--delay', 200, '--stderr', 'fatal: config missing', '--exit', 1),
        health: { checks: [{ tcp: { port } }], interval: '1s', retries: 100 },
      },
    });
    const started = Date.now();
    const result = await apply(dir, ['--log-format', 'json']);
    expect(result.code).toBe(EXIT.failed);
    expect(Date.now() - started).toBeLessThan(10_000);
    const failed = events(result.stdout).find((e) => e.event === 'service.failed')!;
    expect(failed.reason).toBe('daemon-exited');
    expect(failed.message).toContain('exited with code 1 before it was healthy');
    expect(failed.message).toContain('fatal: config missing');
  });

  it('a start command past its timeout is killed with its whole process tree', async () => {
    const dir = workDir();
    plan(dir, {
      slow: {
        start: { run: 'sleep 300 & echo $! > child.pid; sleep 300', shell: true, timeout: '500ms' },
      },
    });
    const result = await apply(dir, ['--log-format', 'json']);
    expect(result.code).toBe(EXIT.failed);
    expect(events(result.stdout).find((e) => e.event === 'service.failed')!.message).toContain(
      'timed out after 500ms',
    );
    const child = Number(readFileSync(join(dir, 'child.pid'), 'utf8'));
    await eventually(() => !isAlive(child), 'the background child to be gone', 2000);
  });

  it("a start command cut by the service's deadline says so, with the deadline as written", async () => {
    const dir = workDir();
    plan(dir, { slow: { start: 'sleep 300', timeout: '1s' } });
    const result = await apply(dir, ['--log-format', 'json']);
    expect(result.code).toBe(EXIT.failed);
    const failed = events(result.stdout).find((e) => e.event === 'service.failed')!;
    expect(failed.reason).toBe('deadline');
    expect(failed.message).toBe('start command still running when the deadline of 1s passed');
  });

  it('a command that does not exist is a clear failure', async () => {
    const dir = workDir();
    plan(dir, { ghost: { start: 'no-such-command-xyz --flag' } });
    const result = await apply(dir);
    expect(result.code).toBe(EXIT.failed);
    expect(result.stdout).toContain('command not found: no-such-command-xyz');
  });
});

describe('SPEC 2 Commands: no shell unless asked', () => {
  it('shell metacharacters are passed as plain arguments', async () => {
    const dir = workDir();
    const out = join(dir, 'argv.json');
    plan(dir, {
      echo: {
        start: `${process.execPath} -e "require('fs').writeFileSync(process.argv[1], JSON.stringify(process.argv.slice(2)))" ${out} 'a;b' '|' '$(touch pwned)' '*' "\`id\`" '>' x`,
      },
    });
    const result = await apply(dir);
    expect(result.code, result.stdout).toBe(EXIT.ok);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual([
      'a;b',
      '|',
      '$(touch pwned)',
      '*',
      '`id`',
      '>',
      'x',
    ]);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });
});

describe('SPEC 4 apply: concurrency', () => {
  it('the global --concurrency and a stage concurrency cap services in flight', async () => {
    const dir = workDir();
    const record = join(dir, 'record.txt');
    const sleeper = (name: string) => ({
      start: {
        run: `echo "${name} begin $(date +%s%3N)" >> ${record}; sleep 0.3; echo "${name} end $(date +%s%3N)" >> ${record}`,
        shell: true,
      },
    });
    const names = ['s1', 's2', 's3', 's4', 's5', 's6'];
    plan(dir, Object.fromEntries(names.map((n) => [n, sleeper(n)])));
    expect((await apply(dir, ['--concurrency', '2'])).code).toBe(EXIT.ok);
    expect(maxInFlight(records(dir))).toBe(2);

    const staged = workDir();
    const stagedRecord = join(staged, 'record.txt');
    const staggered = (name: string) => ({
      stage: 'only',
      start: {
        run: `echo "${name} begin $(date +%s%3N)" >> ${stagedRecord}; sleep 0.2; echo "${name} end $(date +%s%3N)" >> ${stagedRecord}`,
        shell: true,
      },
    });
    plan(staged, Object.fromEntries(names.slice(0, 4).map((n) => [n, staggered(n)])), {
      stages: [{ name: 'only', concurrency: 1 }],
    });
    expect((await apply(staged, ['--concurrency', '4'])).code).toBe(EXIT.ok);
    expect(maxInFlight(records(staged))).toBe(1);
  });
});

function maxInFlight(log: { event: string; at: number }[]): number {
  const points = log.map((r) => ({ at: r.at, delta: r.event === 'begin' ? 1 : -1 }));
  points.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let max = 0;
  for (const point of points) {
    current += point.delta;
    max = Math.max(max, current);
  }
  return max;
}

describe('SPEC 4 apply: approvals', () => {
  const staged = (dir: string) =>
    plan(
      dir,
      { db: { stage: 'core', start: 'true' }, app: { stage: 'apps', depends_on: ['db'], start: 'true' } },
      { stages: [{ name: 'core', approval: true }, { name: 'apps' }] },
    );

  it('off a terminal, a stage that needs approval stops the run with exit 4 and the command that continues', async () => {
    const dir = workDir();
    staged(dir);
    const result = await apply(dir);
    expect(result.code).toBe(EXIT.awaitingApproval);
    expect(result.stderr).toContain('stopped before stage "core", which needs approval');
    expect(result.stderr).toContain('restore apply plan.yaml --resume --approve core');
  });

  it('--approve <stage> and --yes approve, and the approver is recorded', async () => {
    const dir = workDir();
    staged(dir);
    const approved = await apply(dir, ['--approve', 'core', '--approver', 'alice', '--log-format', 'json']);
    expect(approved.code).toBe(EXIT.ok);
    expect(events(approved.stdout).find((e) => e.event === 'stage.approved')).toMatchObject({
      approver: 'alice',
    });
    const yes = await apply(dir, ['--yes']);
    expect(yes.code).toBe(EXIT.ok);
  });
});

describe('SPEC 3 apply output', () => {
  it('--log-format json prints only JSON lines on stdout', async () => {
    const dir = workDir();
    plan(dir, { a: { start: 'true' } });
    const result = await apply(dir, ['--log-format', 'json']);
    const list = events(result.stdout);
    expect(list[0]!.event).toBe('run.started');
    expect(list.at(-1)!.event).toBe('run.finished');
  });

  it('off a terminal: one line per step and a summary table with the total time', async () => {
    const dir = workDir();
    plan(dir, { a: { start: 'true' }, b: { depends_on: ['a'], start: 'true' } });
    const result = await apply(dir);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toMatch(/a\s+starting\s+true/);
    expect(result.stdout).toMatch(/^SERVICE\s+STAGE\s+RESULT\s+ATTEMPTS\s+DURATION$/m);
    expect(result.stdout).toMatch(/^b\s+wave-2\s+healthy\s+1\s+\S+$/m);
    expect(result.stdout).toMatch(/2 of 2 services healthy; total restoration time \S+/);
  });

  it('--verbose echoes service output; every apply writes a pino run log with output lines tagged', async () => {
    const dir = workDir();
    plan(dir, {
      talker: {
        start: [process.execPath, FIXTURE, '--print', 'hello out', '--stderr', 'hello err', '--exit', '0'],
      },
    });
    const quiet = await apply(dir);
    expect(quiet.stdout).not.toMatch(/\| hello out/);
    const loud = await apply(dir, ['--verbose']);
    expect(loud.stdout).toMatch(/talker\s+\| hello out/);
    expect(loud.stdout).toMatch(/talker\s+! hello err/);
    const logFile = join(dir, /log (\S+\.log)/.exec(loud.stderr)![1]!);
    const lines = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.event === 'service.output' && l.stream === 'stderr')).toMatchObject({
      service: 'talker',
      line: 'hello err',
      level: 'info',
    });
    expect(lines.some((l) => l.event === 'run.finished')).toBe(true);
    expect(statSync(logFile).mode & 0o777).toBe(0o600);
  });

  it('a daemon writes its output to services/<name>.log and its pid to services/<name>.pid', async () => {
    const dir = workDir();
    const [port] = await freePorts(1);
    plan(dir, { web: { start: daemon('--print', 'web says hi', '--listen', port!), health: tcp(port!) } });
    expect((await apply(dir)).code).toBe(EXIT.ok);
    const services = join(dir, 'state', 'e2e', 'services');
    await eventually(
      () => readFileSync(join(services, 'web.log'), 'utf8').includes('web says hi'),
      'daemon output',
    );
    const pid = Number(readFileSync(join(services, 'web.pid'), 'utf8'));
    expect(isAlive(pid)).toBe(true);
  });

  it('--dry-run prints the plan and runs nothing', async () => {
    const dir = workDir();
    plan(dir, { a: { start: 'touch ran' } });
    const result = await apply(dir, ['--dry-run']);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain('digest sha256:');
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });

  it('--only runs the named services and their dependencies', async () => {
    const dir = workDir();
    plan(dir, {
      a: { start: 'touch a' },
      b: { depends_on: ['a'], start: 'touch b' },
      c: { start: 'touch c' },
    });
    const result = await apply(dir, ['--only', 'b', '--log-format', 'json']);
    expect(result.code).toBe(EXIT.ok);
    expect(['a', 'b', 'c'].map((f) => existsSync(join(dir, f)))).toEqual([true, true, false]);
    expect(events(result.stdout).find((e) => e.event === 'run.finished')!.services!.c).toMatchObject({
      result: 'skipped',
    });
  });

  it('--concurrency must be a positive whole number', async () => {
    const dir = workDir();
    plan(dir, { a: { start: 'true' } });
    const result = await apply(dir, ['--concurrency', 'zero']);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('--concurrency');
  });
});

describe('SPEC 4 apply: signals', () => {
  it('SIGINT stops in-flight commands (process group included), keeps healthy daemons, exits 130', async () => {
    const dir = workDir();
    const [port] = await freePorts(1);
    plan(dir, {
      up: { start: daemon('--listen', port!), health: tcp(port!) },
      slow: { depends_on: ['up'], start: { run: 'sleep 300 & echo $! > child.pid; sleep 300', shell: true } },
      never: { depends_on: ['slow'], start: 'touch never-started' },
    });
    const { child, done } = spawnCli(
      ['apply', 'plan.yaml', '--state-dir', join(dir, 'state'), '--log-format', 'json'],
      {
        cwd: dir,
      },
    );
    await eventually(() => existsSync(join(dir, 'child.pid')), 'the slow command to start', 15_000);
    child.kill('SIGINT');
    const result = await done;
    expect(result.code).toBe(EXIT.sigint);
    const list = events(result.stdout);
    expect(list.some((e) => e.event === 'run.interrupted')).toBe(true);
    expect(list.find((e) => e.event === 'run.finished')).toMatchObject({ result: 'interrupted' });
    const grandchild = Number(readFileSync(join(dir, 'child.pid'), 'utf8'));
    await eventually(() => !isAlive(grandchild), 'the command tree to be gone', 7000);
    expect(existsSync(join(dir, 'never-started'))).toBe(false);
    const daemonPid = Number(readFileSync(join(dir, 'state', 'e2e', 'services', 'up.pid'), 'utf8'));
    expect(isAlive(daemonPid)).toBe(true);
  });

  it('SIGTERM exits 143', async () => {
    const dir = workDir();
    plan(dir, { slow: { start: 'sleep 300' } });
    const { child, done } = spawnCli(['apply', 'plan.yaml', '--state-dir', join(dir, 'state')], { cwd: dir });
    // Once it says it is starting the command, restore's signal handlers are in place.
    await whenOutput(child, 'starting');
    child.kill('SIGTERM');
    expect((await done).code).toBe(EXIT.sigterm);
  });
});
