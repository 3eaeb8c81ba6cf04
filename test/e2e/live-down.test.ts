import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { daemon, useWorkDirs } from '../helpers/e2e.js';
import { freePorts } from '../helpers/ports.js';
import { isAlive } from '../helpers/processes.js';
import { writeFile } from '../helpers/tmp.js';

const workDir = useWorkDirs();

const tcp = (port: number) => ({ checks: [{ tcp: { port } }], interval: '100ms', start_interval: '50ms' });

describe('SPEC 3 restore plan --live', () => {
  it('runs one probe round per service, never a start command, and shows what would be skipped', async () => {
    const dir = workDir();
    const [up, down] = await freePorts(2);
    writeFile(
      dir,
      'plan.yaml',
      JSON.stringify({
        version: 1,
        name: 'live',
        services: {
          up: { start: daemon('--listen', up!), health: tcp(up!) },
          down: { start: 'touch started', health: tcp(down!) },
          stubborn: { start: 'touch started', skip_if_healthy: false, health: tcp(up!) },
        },
      }),
    );
    expect(
      (await runCli(['apply', 'plan.yaml', '--only', 'up', '--state-dir', 'state'], { cwd: dir })).code,
    ).toBe(EXIT.ok);
    const result = await runCli(['plan', 'plan.yaml', '--live', '--format', 'json'], { cwd: dir });
    expect(result.code).toBe(EXIT.ok);
    const services = (
      JSON.parse(result.stdout) as { stages: { services: { name: string; live: unknown }[] }[] }
    ).stages.flatMap((s) => s.services);
    const live = Object.fromEntries(services.map((s) => [s.name, s.live]));
    expect(live.up).toMatchObject({ healthy: true, would_skip: true });
    expect(live.down).toMatchObject({
      healthy: false,
      would_skip: false,
      detail: expect.stringContaining('connection refused'),
    });
    expect(live.stubborn).toMatchObject({ healthy: true, would_skip: false });
    expect(existsSync(join(dir, 'started'))).toBe(false);

    const text = await runCli(['plan', 'plan.yaml', '--live'], { cwd: dir });
    expect(text.stdout).toMatch(/1\. \S+.*\[/);
    expect(text.stdout).toContain('[healthy: would be skipped]');
    expect(text.stdout).toContain('[not healthy: tcp 127.0.0.1:');
  });
});

describe('SPEC 3 restore down', () => {
  it('stops services in reverse dependency order: stop commands, or the daemon process group', async () => {
    const dir = workDir();
    const [a, b] = await freePorts(2);
    const order = join(dir, 'stopped.txt');
    writeFile(
      dir,
      'plan.yaml',
      JSON.stringify({
        version: 1,
        name: 'drill',
        services: {
          db: { start: daemon('--listen', a!), health: tcp(a!) },
          api: {
            depends_on: ['db'],
            start: daemon('--listen', b!),
            stop: {
              run: `echo api >> ${order}; kill $(cat state/drill/services/api.pid 2>/dev/null) 2>/dev/null || true`,
              shell: true,
            },
            health: tcp(b!),
          },
        },
      }),
    );
    expect((await runCli(['apply', 'plan.yaml', '--state-dir', 'state'], { cwd: dir })).code).toBe(EXIT.ok);
    const pid = (name: string) =>
      Number(readFileSync(join(dir, 'state', 'drill', 'services', `${name}.pid`), 'utf8'));
    const [dbPid, apiPid] = [pid('db'), pid('api')];

    const refused = await runCli(['down', 'plan.yaml', '--state-dir', 'state'], { cwd: dir });
    expect(refused.code).toBe(EXIT.usage);
    expect(refused.stderr).toContain('--yes');
    expect(isAlive(dbPid)).toBe(true);

    const result = await runCli(['down', 'plan.yaml', '--state-dir', 'state', '--yes'], { cwd: dir });
    expect(result.code).toBe(EXIT.ok);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^✓ api\s+stop command: exited with code 0/);
    expect(lines[1]).toMatch(/^✓ db\s+stopped daemon pid \d+/);
    expect(readFileSync(order, 'utf8').trim()).toBe('api');
    expect(isAlive(apiPid)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(isAlive(dbPid)).toBe(false);
    expect(isAlive(apiPid)).toBe(false);

    const again = await runCli(['down', 'plan.yaml', '--state-dir', 'state', '--yes', '--only', 'db'], {
      cwd: dir,
    });
    expect(again.code).toBe(EXIT.ok);
    expect(again.stdout).toMatch(/✓ api\s+stop command/);
    expect(again.stdout).toMatch(/- db\s+not running/);
  });

  it('never signals a pid that another process has reused since', async () => {
    const dir = workDir();
    writeFile(
      dir,
      'plan.yaml',
      JSON.stringify({ version: 1, name: 'reuse', services: { d: { start: { run: 'x', daemon: true } } } }),
    );
    // A pid file written long before the process with that pid started (our own test runner's child).
    const { spawn } = await import('node:child_process');
    const victim = spawn('sleep', ['30'], { stdio: 'ignore' });
    const pidFile = writeFile(join(dir), 'd.pid', `${victim.pid}\n`);
    const { mkdirSync, renameSync, utimesSync } = await import('node:fs');
    mkdirSync(join(dir, 'state', 'reuse', 'services'), { recursive: true });
    const target = join(dir, 'state', 'reuse', 'services', 'd.pid');
    renameSync(pidFile, target);
    const past = new Date(Date.now() - 3600_000);
    utimesSync(target, past, past);
    const result = await runCli(['down', 'plan.yaml', '--state-dir', 'state', '--yes'], { cwd: dir });
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain('not running');
    expect(isAlive(victim.pid!)).toBe(true);
    victim.kill('SIGKILL');
  });
});
