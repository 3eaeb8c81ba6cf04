import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { loadPlan } from '../../src/plan/load.js';
import { MAX_CLOCK_SKEW_MS } from '../../src/run/engine/preflight.js';
import { Places } from '../../src/run/places/places.js';
import { directLauncher } from '../../src/run/places/process/launch.js';
import { type Lock, takeLock } from '../../src/run/state/lock.js';
import { hasStackTrace, runCli } from '../helpers/cli.js';
import { freePorts } from '../helpers/ports.js';
import { processesWith } from '../helpers/processes.js';
import { useRemoteWorkDirs, useSshd } from '../helpers/sshd.js';
import { parseStrictJson } from '../helpers/strict-json.js';
import { useTempDir, writeFile } from '../helpers/tmp.js';

/**
 * SPEC section 8 through the real CLI: `restore check` looks at this machine, every host (a real
 * sshd on 127.0.0.1, test/helpers/sshd.ts) and every service's place, and changes nothing.
 */
const sshd = useSshd();

const tempDir = useTempDir();
const workDir = useRemoteWorkDirs(tempDir);
const locks: Lock[] = [];
afterEach(() => {
  for (const lock of locks.splice(0)) lock.release();
});

function plan(dir: string, body: Record<string, unknown>, name = 'checked'): string {
  return writeFile(dir, 'plan.yaml', JSON.stringify({ version: 1, name, ...body }, null, 2));
}

const check = (dir: string, ...args: string[]) =>
  runCli(['check', 'plan.yaml', ...args], { cwd: dir, timeoutMs: 60_000 });

interface JsonFinding {
  service?: string;
  host?: string;
  check: string;
  level: string;
  message: string;
}

const findingsOf = (stdout: string) => parseStrictJson(stdout) as JsonFinding[];

/** Commands that would leave a file behind in `dir` if they ever ran. */
const touching = (dir: string, name: string) => ({
  start: ['touch', join(dir, `${name}.started`)],
  stop: { run: `touch ${join(dir, `${name}.stopped`)}`, shell: true },
  health: [{ exec: ['touch', join(dir, `${name}.probed`)] }],
});

describe('SPEC 8: restore check, a read-only preflight', () => {
  it('all found: one ok line per finding, exit 0, and nothing run or written (no marker, no state dir)', async () => {
    const dir = workDir();
    mkdirSync(join(dir, 'work'));
    plan(dir, {
      services: {
        db: { ...touching(dir, 'db'), start: { run: ['touch', join(dir, 'db.started')], cwd: 'work' } },
        api: { ...touching(dir, 'api'), depends_on: ['db'] },
      },
    });
    const result = await check(dir);
    expect(result.code, result.stdout + result.stderr).toBe(EXIT.ok);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('restore check plan.yaml');
    expect(result.stdout).toMatch(/ok\s+this machine\s+state-dir\s+.*can be created/);
    expect(result.stdout).toMatch(/ok\s+this machine\s+disk-space\s+\d+ MiB free/);
    expect(result.stdout).toMatch(/ok\s+this machine\s+lock\s+free/);
    expect(result.stdout).toMatch(/ok\s+service db\s+program\s+touch found here \(start, exec check\)/);
    expect(result.stdout).toMatch(/ok\s+service db\s+program\s+\/bin\/sh found here \(stop\)/);
    expect(result.stdout).toMatch(/ok\s+service db\s+cwd\s+work exists here \(start\)/);
    // Services in start order: db before api.
    expect(result.stdout.indexOf('service db')).toBeLessThan(result.stdout.indexOf('service api'));
    expect(result.stdout).toContain('0 errors, 0 warnings, 8 ok');
    expect(result.stderr).toContain(`state dir ${join(dir, '.restore')}`);
    expect(readdirSync(dir).sort()).toEqual(['plan.yaml', 'work']);
  }, 30_000);

  it('a program that is not found is an error naming it and the command (exit 3)', async () => {
    const dir = workDir();
    plan(dir, { services: { api: { start: 'no-such-server-xyz --port 1', stop: 'true' } } });
    const result = await check(dir);
    expect(result.code).toBe(EXIT.failed);
    expect(result.stdout).toMatch(
      /error\s+service api\s+program\s+no-such-server-xyz not found here \(start\)/,
    );
    expect(result.stdout).toMatch(/ok\s+service api\s+program\s+true found here \(stop\)/);
    expect(result.stdout).toContain('1 error, 0 warnings');
    expect(hasStackTrace(result.stderr)).toBe(false);
  });

  it('a working directory that does not exist is an error (exit 3)', async () => {
    const dir = workDir();
    plan(dir, { services: { api: { start: { run: 'true', cwd: join(dir, 'gone') } } } });
    const result = await check(dir);
    expect(result.code).toBe(EXIT.failed);
    expect(result.stdout).toMatch(
      /error\s+service api\s+cwd\s+\S+gone is not a directory that can be entered here/,
    );
  });

  it('every verify artifact is looked at: present and matching is ok, a changed one an error with both digests (exit 3)', async () => {
    const dir = workDir();
    writeFile(dir, 'api.bin', 'release 1\n');
    writeFile(dir, 'worker.bin', 'tampered\n');
    const released = createHash('sha256').update('release 1\n').digest('hex');
    const actual = createHash('sha256').update('tampered\n').digest('hex');
    plan(dir, {
      services: {
        api: { ...touching(dir, 'api'), verify: [{ file: 'api.bin', sha256: released }] },
        worker: { ...touching(dir, 'worker'), verify: [{ file: 'worker.bin', sha256: released }] },
      },
    });
    const result = await check(dir, '--format', 'json');
    expect(result.code).toBe(EXIT.failed);
    const verify = findingsOf(result.stdout).filter((finding) => finding.check === 'verify');
    expect(verify.map(({ service, level }) => [service, level])).toEqual([
      ['api', 'ok'],
      ['worker', 'error'],
    ]);
    expect(verify[1]!.message).toContain(released);
    expect(verify[1]!.message).toContain(actual);
    // Looked at, never started.
    expect(readdirSync(dir).filter((name) => /\.(started|stopped|probed)$/.test(name))).toEqual([]);
  });

  it('--format json is exactly [ { service?, host?, check, level, message } ]', async () => {
    const dir = workDir();
    plan(dir, { services: { api: { start: 'no-such-server-xyz' } } });
    const result = await check(dir, '--format', 'json');
    expect(result.code).toBe(EXIT.failed);
    const findings = findingsOf(result.stdout);
    expect(findings.map((f) => Object.keys(f))).toEqual([
      ['check', 'level', 'message'],
      ['check', 'level', 'message'],
      ['check', 'level', 'message'],
      ['service', 'check', 'level', 'message'],
    ]);
    expect(findings.map(({ message: _, ...rest }) => rest)).toEqual([
      { check: 'state-dir', level: 'ok' },
      { check: 'disk-space', level: 'ok' },
      { check: 'lock', level: 'ok' },
      { service: 'api', check: 'program', level: 'error' },
    ]);
    expect(findings[3]!.message).toBe('no-such-server-xyz not found here (start)');
    // Only JSON on stdout; the state dir line is on stderr.
    expect(result.stderr).toContain('state dir');
  });

  it('--format github: errors and warnings are annotations on the plan file, ok findings plain lines', async () => {
    const dir = workDir();
    plan(dir, { services: { api: { start: 'no-such-server-xyz', stop: 'true' } } });
    const result = await check(dir, '--format', 'github');
    expect(result.code).toBe(EXIT.failed);
    expect(result.stdout).toContain(
      '::error file=plan.yaml,title=restore check program::service api: program: no-such-server-xyz not found here (start)\n',
    );
    expect(result.stdout).toContain('ok service api: program: true found here (stop)\n');
    for (const line of result.stdout.trim().split('\n')) expect(line).toMatch(/^(::error |::warning |ok )/);
  });

  it('--only checks the named services and what they depend on', async () => {
    const dir = workDir();
    plan(dir, {
      services: {
        db: { start: 'true' },
        api: { start: 'true', depends_on: ['db'] },
        web: { start: 'no-such-server-xyz' },
      },
    });
    const result = await check(dir, '--only', 'api', '--format', 'json');
    expect(result.code).toBe(EXIT.ok);
    const services = findingsOf(result.stdout).flatMap((f) => (f.service ? [f.service] : []));
    expect(services).toEqual(['db', 'api']);
    const unknown = await check(dir, '--only', 'nope');
    expect(unknown.code).toBe(EXIT.usage);
    expect(unknown.stderr).toContain('no service "nope"');
  });

  it('an invalid plan prints its diagnostics and exits 1', async () => {
    const dir = workDir();
    writeFile(
      dir,
      'plan.yaml',
      'version: 1\nname: bad\nservices:\n  api: { start: true, depends_on: [db] }\n',
    );
    const result = await check(dir);
    expect(result.code).toBe(EXIT.invalid);
    expect(result.stderr).toContain('unknown-dependency');
    expect(hasStackTrace(result.stderr)).toBe(false);
  });

  it('a state dir that cannot be created (a file where it should be) is an error', async () => {
    const dir = workDir();
    plan(dir, { services: { api: { start: 'true' } } });
    writeFile(dir, 'state', 'not a directory');
    const result = await check(dir, '--state-dir', join(dir, 'state'));
    expect(result.code).toBe(EXIT.failed);
    expect(result.stdout).toMatch(/error\s+this machine\s+state-dir\s+.*not a directory/);
  });

  it('a state dir that exists but cannot be written is an error, and the probe leaves nothing in one that can', async () => {
    const dir = workDir();
    plan(dir, { services: { api: { start: 'true' } } });
    const state = join(dir, 'state');
    mkdirSync(join(state, 'checked'), { recursive: true, mode: 0o700 });
    chmodSync(state, 0o700);
    const writable = await check(dir, '--state-dir', state);
    expect(writable.code, writable.stdout).toBe(EXIT.ok);
    expect(writable.stdout).toMatch(/ok\s+this machine\s+state-dir\s+\S+checked is writable/);
    expect(readdirSync(join(state, 'checked'))).toEqual([]);

    chmodSync(join(state, 'checked'), 0o500);
    // root writes anywhere: drop the capability that lets it, as an operator's account would lack it.
    const prefix = process.getuid?.() === 0 ? ['setpriv', '--bounding-set', '-dac_override'] : [];
    const result = await runCli(['check', 'plan.yaml', '--state-dir', state], { cwd: dir, prefix });
    expect(result.code, result.stdout + result.stderr).toBe(EXIT.failed);
    expect(result.stdout).toMatch(
      /error\s+this machine\s+state-dir\s+cannot use state dir \S+: permission denied/,
    );
  });

  it('a lock held by a live process is an error naming its pid; a stale one a warning', async () => {
    const dir = workDir();
    plan(dir, { services: { api: { start: 'true' } } });
    const root = join(dir, '.restore', 'checked');
    mkdirSync(root, { recursive: true, mode: 0o700 });
    chmodSync(join(dir, '.restore'), 0o700);
    const taken = takeLock(root);
    if (!taken.ok) throw new Error('the test could not take the lock');
    locks.push(taken.value);
    const held = await check(dir);
    expect(held.code).toBe(EXIT.failed);
    expect(held.stdout).toMatch(
      new RegExp(`error\\s+this machine\\s+lock\\s+held by pid ${process.pid} on `),
    );
    taken.value.release();

    // A holder that is gone: apply would take the lock over.
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => gone.once('exit', resolve));
    const lock = {
      pid: gone.pid,
      host: hostname(),
      started_at: new Date().toISOString(),
    };
    writeFileSync(join(root, 'lock'), `${JSON.stringify(lock)}\n`, { mode: 0o600 });
    const stale = await check(dir);
    expect(stale.code).toBe(EXIT.ok);
    expect(stale.stdout).toMatch(
      new RegExp(`warning\\s+this machine\\s+lock\\s+stale lock of pid ${gone.pid}`),
    );
  });

  it('an unreachable host is an error in ssh words, without a prompt, and its services are not checked', async () => {
    const dir = workDir();
    const [port] = (await freePorts(1)) as [number];
    plan(dir, {
      hosts: { gone: { ...sshd().host(), port } },
      services: { api: { host: 'gone', start: 'true' } },
    });
    const result = await check(dir, '--format', 'json');
    expect(result.code).toBe(EXIT.failed);
    const findings = findingsOf(result.stdout).filter((f) => f.host !== undefined);
    expect(findings).toEqual([
      { host: 'gone', check: 'ssh', level: 'error', message: expect.stringMatching(/Connection refused/) },
      {
        service: 'api',
        host: 'gone',
        check: 'ssh',
        level: 'error',
        message: 'not checked: host gone does not answer',
      },
    ]);
    expect(hasStackTrace(result.stderr)).toBe(false);
  }, 30_000);

  it('on a host over real ssh: it answers, its clock is close, programs and directories are looked for there, nothing runs', async () => {
    const dir = workDir();
    mkdirSync(join(dir, 'work'));
    chmodSync(join(dir, 'work'), 0o777);
    plan(dir, {
      hosts: { box: sshd().host() },
      services: {
        db: {
          host: 'box',
          ...touching(dir, 'db'),
          start: { run: ['touch', join(dir, 'db.started')], cwd: join(dir, 'work') },
        },
        api: {
          host: 'box',
          start: { run: 'no-such-server-xyz', cwd: join(dir, 'missing') },
          depends_on: ['db'],
        },
      },
    });
    const result = await check(dir, '--format', 'json');
    expect(result.code, result.stdout + result.stderr).toBe(EXIT.failed);
    const findings = findingsOf(result.stdout).filter((f) => f.host !== undefined);
    expect(findings).toEqual([
      { host: 'box', check: 'ssh', level: 'ok', message: 'answers over ssh' },
      {
        host: 'box',
        check: 'clock',
        level: 'ok',
        message: `within ${MAX_CLOCK_SKEW_MS / 1000} s of this machine's`,
      },
      {
        service: 'db',
        host: 'box',
        check: 'program',
        level: 'ok',
        message: 'touch found on box (start, exec check)',
      },
      { service: 'db', host: 'box', check: 'program', level: 'ok', message: '/bin/sh found on box (stop)' },
      {
        service: 'db',
        host: 'box',
        check: 'cwd',
        level: 'ok',
        message: `${join(dir, 'work')} exists on box (start)`,
      },
      {
        service: 'api',
        host: 'box',
        check: 'program',
        level: 'error',
        message: 'no-such-server-xyz not found on box (start)',
      },
      {
        service: 'api',
        host: 'box',
        check: 'cwd',
        level: 'error',
        message: `${join(dir, 'missing')} is not a directory that can be entered on box (start)`,
      },
    ]);
    expect(readdirSync(dir).sort()).toEqual(['plan.yaml', 'work']);
    expect(readdirSync(join(dir, 'work'))).toEqual([]);
    // The shared connection was closed before check returned.
    expect(processesWith('restore-check-')).toEqual([]);
  }, 60_000);
});

describe('SPEC 8: check on a host with many services', () => {
  it('24 services on one host: every program and directory is looked for there and answered', async () => {
    const dir = workDir();
    const services: Record<string, unknown> = {};
    for (let i = 0; i < 24; i++) {
      mkdirSync(join(dir, `d${i}`), { mode: 0o755 });
      services[`s${i}`] = { host: 'box', start: { run: ['true'], cwd: join(dir, `d${i}`) }, stop: `false` };
    }
    plan(dir, { hosts: { box: sshd().host() }, services });
    const result = await check(dir, '--format', 'json');
    expect(result.code, result.stdout + result.stderr).toBe(EXIT.ok);
    const findings = findingsOf(result.stdout).filter((f) => f.service !== undefined);
    expect(findings).toHaveLength(24 * 3);
    expect(findings.filter((f) => f.level !== 'ok')).toEqual([]);
  }, 60_000);
});

describe.each(['here', 'host'] as const)('SPEC 8: what a place answers for check (%s)', (which) => {
  const opened: Places[] = [];
  afterEach(async () => {
    for (const places of opened.splice(0)) await places.close();
  });

  async function placeOf() {
    const dir = workDir();
    const file = plan(dir, {
      hosts: { box: sshd().host() },
      services: { here: { start: 'true' }, there: { host: 'box', start: 'true' } },
    });
    const loaded = await loadPlan(file);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
    const places = new Places({
      plan: loaded.value.plan,
      planDir: dir,
      sshControlDir: join(dir, 'ssh'),
      secrets: [],
      launcher: directLauncher,
    });
    opened.push(places);
    const { services } = loaded.value.plan;
    return { dir, place: places.of(which === 'here' ? services.here! : services.there!) };
  }

  it('knows whether a directory can be entered there', async () => {
    const { dir, place } = await placeOf();
    mkdirSync(join(dir, 'sub'));
    chmodSync(join(dir, 'sub'), 0o755);
    expect(await place.hasDirectory(join(dir, 'sub'))).toBe(true);
    expect(await place.hasDirectory(join(dir, 'none'))).toBe(false);
    expect(await place.hasDirectory(join(dir, 'plan.yaml'))).toBe(false);
    // A name with spaces and quotes arrives as written.
    mkdirSync(join(dir, "it's a dir"));
    chmodSync(join(dir, "it's a dir"), 0o755);
    expect(await place.hasDirectory(join(dir, "it's a dir"))).toBe(true);
    if (which === 'here') expect(await place.hasDirectory('sub')).toBe(true);
    expect(existsSync(join(dir, 'none'))).toBe(false);
  }, 30_000);

  it("reads its clock in seconds since the epoch, close to this machine's", async () => {
    const { place } = await placeOf();
    const before = Math.floor(Date.now() / 1000);
    const clock = await place.clock();
    const after = Math.ceil(Date.now() / 1000);
    expect(clock.ok).toBe(true);
    if (clock.ok) {
      expect(clock.epochSeconds).toBeGreaterThanOrEqual(before);
      expect(clock.epochSeconds).toBeLessThanOrEqual(after);
    }
  }, 30_000);
});
