import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { quote } from 'shlex';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { hasStackTrace, runCli, spawnCli } from '../helpers/cli.js';
import { events } from '../helpers/e2e.js';
import { freePorts } from '../helpers/ports.js';
import { eventually, processesWith } from '../helpers/processes.js';
import { useRemoteWorkDirs, useSshd } from '../helpers/sshd.js';
import { useTempDir, writeFile } from '../helpers/tmp.js';

/**
 * SPEC section 6 against a real sshd on 127.0.0.1 (test/helpers/sshd.ts): services on a "remote"
 * host, reached with the system's OpenSSH client exactly as on a fleet.
 */
const sshd = useSshd();

const tempDir = useTempDir();
const workDir = useRemoteWorkDirs(tempDir);

function plan(dir: string, body: Record<string, unknown>): string {
  return writeFile(dir, 'plan.yaml', JSON.stringify({ version: 1, name: 'remote', ...body }, null, 2));
}

const apply = (dir: string, ...args: string[]) =>
  runCli(['apply', 'plan.yaml', '--yes', '--state-dir', join(dir, 'state'), ...args], {
    cwd: dir,
    timeoutMs: 60_000,
  });

/** ssh connection-sharing processes left behind by a run in `dir`. */
const muxesOf = (dir: string) => processesWith(join(dir, 'state'));

/** How many processes (of any user: the host is this machine) have args matching `pattern` (g). */
const running = (pattern: RegExp) =>
  execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).match(pattern)?.length ?? 0;

/** The ssh_options of the test server's host entry. */
const sshOptions = () => sshd().host().ssh_options as Record<string, string>;

const fast = { interval: '100ms', start_interval: '50ms', retries: 50 };
/** An HTTP server on the host, written inline: nothing of this repository needs to be readable there. */
const httpServer = (port: number, marker: string) => [
  'node',
  '-e',
  `require('http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1'); // ${marker}`,
];

describe('SPEC 6: services on a remote host over OpenSSH', () => {
  it('runs start commands and exec checks on the host as its user, every argument arriving exactly as written', async () => {
    const dir = workDir();
    const weird = ['a b', '$HOME', '; rm -rf /', "it's", '*', '`id`', 'tab\there'];
    plan(dir, {
      hosts: { box: sshd().host() },
      services: {
        one: {
          host: 'box',
          start: ['sh', '-c', `printf '%s\\n' "$@" > ${dir}/args; id -un > ${dir}/user`, 'sh', ...weird],
          health: { checks: [{ exec: `test -s ${dir}/user` }], ...fast },
        },
      },
    });
    const result = await apply(dir);
    expect(result.code, result.stdout + result.stderr).toBe(EXIT.ok);
    expect(readFileSync(join(dir, 'args'), 'utf8')).toBe(`${weird.join('\n')}\n`);
    expect(readFileSync(join(dir, 'user'), 'utf8').trim()).toBe(sshd().user);
    expect(result.stdout).toContain('(on box)');
    // The shared connection is closed at the end of the run.
    expect(muxesOf(dir)).toEqual([]);
  }, 60_000);

  it('a remote daemon: checks default to the host address, a second apply finds it healthy, down stops it', async () => {
    const dir = workDir();
    const [port] = (await freePorts(1)) as [number];
    plan(dir, {
      hosts: { box: sshd().host() },
      services: {
        web: {
          host: 'box',
          start: { run: httpServer(port, dir), daemon: true },
          health: {
            checks: [{ tcp: { port } }, { http: { url: `:${port}/`, body_contains: 'ok' } }],
            ...fast,
          },
        },
      },
    });
    const first = await apply(dir);
    expect(first.code, first.stdout + first.stderr).toBe(EXIT.ok);
    expect(first.stdout).toMatch(/web\s+\S+\s+healthy/);
    // It runs on the host as the host's user, detached from restore, which has exited.
    const pids = processesWith(dir).filter((pid) =>
      readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('node'),
    );
    expect(pids).toHaveLength(1);
    const owner = execFileSync('ps', ['-o', 'user=', '-p', String(pids[0])], { encoding: 'utf8' }).trim();
    expect(owner).toBe(sshd().user.slice(0, owner.length));
    expect(muxesOf(dir)).toEqual([]);

    const second = await apply(dir);
    expect(second.code).toBe(EXIT.ok);
    expect(second.stdout).toMatch(/web\s+\S+\s+already healthy/);

    const down = await runCli(['down', 'plan.yaml', '--yes', '--state-dir', join(dir, 'state')], {
      cwd: dir,
    });
    expect(down.code, down.stdout + down.stderr).toBe(EXIT.ok);
    expect(down.stdout).toMatch(/stopped daemon pid \d+ on box/);
    await eventually(() => processesWith(dir).length === 0, 'the remote daemon to be gone');
  }, 60_000);

  it('a remote daemon still starting when restore was killed is adopted on resume, not started twice', async () => {
    const dir = workDir();
    const [port] = (await freePorts(1)) as [number];
    const record = join(dir, 'starts');
    const server = httpServer(port, dir)
      .map((word) => quote(word))
      .join(' ');
    plan(dir, {
      hosts: { box: sshd().host() },
      services: {
        slow: {
          host: 'box',
          start: { run: `echo start >> ${record}; sleep 2; exec ${server}`, shell: true, daemon: true },
          health: { checks: [{ tcp: { port } }], ...fast },
        },
      },
    });
    const starts = () => (existsSync(record) ? readFileSync(record, 'utf8').trim().split('\n').length : 0);
    const { child, done } = spawnCli(['apply', 'plan.yaml', '--yes', '--state-dir', join(dir, 'state')], {
      cwd: dir,
    });
    await eventually(() => starts() === 1, 'the daemon to start', 15_000);
    child.kill('SIGKILL');
    await done;
    const resumed = await apply(dir, '--resume', '--log-format', 'json');
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(EXIT.ok);
    expect(starts()).toBe(1);
    const healthy = events(resumed.stdout).find((event) => event.event === 'service.healthy');
    expect(healthy).toMatchObject({ resumed: true });
    const down = await runCli(['down', 'plan.yaml', '--yes', '--state-dir', join(dir, 'state')], {
      cwd: dir,
    });
    expect(down.code, down.stdout + down.stderr).toBe(EXIT.ok);
  }, 60_000);

  it("a remote daemon's log on the host has the plan's secrets redacted", async () => {
    const dir = workDir();
    const [port] = (await freePorts(1)) as [number];
    const server = httpServer(port, dir)
      .map((word) => quote(word))
      .join(' ');
    plan(dir, {
      secrets: ['API_TOKEN'],
      hosts: { box: sshd().host() },
      services: {
        web: {
          host: 'box',
          start: {
            run: `echo "starting with token $API_TOKEN"; exec ${server}`,
            shell: true,
            daemon: true,
            env: { API_TOKEN: '${API_TOKEN}' },
          },
          health: { checks: [{ tcp: { port } }], ...fast },
        },
      },
    });
    // The log of an earlier run must not stand in for this one's.
    const home = execFileSync('getent', ['passwd', sshd().user], { encoding: 'utf8' }).split(':')[5]!;
    const log = join(home, '.restore', 'remote', 'services', 'web.log');
    rmSync(log, { force: true });
    const result = await runCli(['apply', 'plan.yaml', '--yes', '--state-dir', join(dir, 'state')], {
      cwd: dir,
      env: { API_TOKEN: 's3cr3t-t0ken' },
      timeoutMs: 60_000,
    });
    expect(result.code, result.stdout + result.stderr).toBe(EXIT.ok);
    await eventually(
      () => existsSync(log) && readFileSync(log, 'utf8').includes('starting'),
      'the remote log',
    );
    expect(readFileSync(log, 'utf8')).toContain('starting with token [REDACTED]');
    expect(readFileSync(log, 'utf8')).not.toContain('s3cr3t-t0ken');
    const down = await runCli(['down', 'plan.yaml', '--yes', '--state-dir', join(dir, 'state')], {
      cwd: dir,
      env: { API_TOKEN: 's3cr3t-t0ken' },
    });
    expect(down.code, down.stdout + down.stderr).toBe(EXIT.ok);
  }, 60_000);

  it('failures carry ssh own words: refused connection, refused key, changed host key, remote command not found', async () => {
    const dir = workDir();
    const [closed] = (await freePorts(1)) as [number];
    const wrongKnownHosts = writeFile(
      dir,
      'wrong_known_hosts',
      `[127.0.0.1]:${sshd().port} ${readFileSync(`${sshd().otherKey('fake_host')}.pub`, 'utf8')
        .split(' ')
        .slice(0, 2)
        .join(' ')}\n`,
    );
    plan(dir, {
      hosts: {
        box: sshd().host(),
        closed: sshd().host({ port: closed }),
        stranger: sshd().host({ identity_file: sshd().otherKey('stranger') }),
        impostor: sshd().host({
          ssh_options: { UserKnownHostsFile: wrongKnownHosts, StrictHostKeyChecking: 'yes' },
        }),
      },
      services: {
        refused: { host: 'closed', start: 'true', critical: false },
        after_refused: { host: 'box', start: 'true', depends_on: ['refused'], critical: false },
        key: { host: 'stranger', start: 'true', critical: false },
        hostkey: { host: 'impostor', start: 'true', critical: false },
        missing: { host: 'box', start: 'no-such-command-xyz --flag', critical: false },
      },
    });
    const result = await apply(dir);
    const out = result.stdout + result.stderr;
    expect(result.code, out).toBe(EXIT.failed);
    expect(hasStackTrace(out)).toBe(false);
    expect(out).toMatch(
      new RegExp(
        `refused\\s+FAILED\\s+start command: ssh: connect to host 127.0.0.1 port ${closed}: Connection refused`,
      ),
    );
    expect(out).toMatch(/key\s+FAILED\s+start command: .*Permission denied \(publickey/);
    expect(out).toMatch(/hostkey\s+FAILED\s+start command: Host key verification failed\./);
    expect(out).toMatch(/missing\s+FAILED\s+start command: command not found on box: no-such-command-xyz/);
    expect(out).toMatch(/after_refused\s+blocked\s+by refused/);
  }, 60_000);

  it('a start command past its timeout is cut, and its whole process tree on the host dies with it', async () => {
    const dir = workDir();
    plan(dir, {
      hosts: { box: sshd().host() },
      services: {
        slow: {
          host: 'box',
          start: { run: `sleep 3001 & sleep 3002; echo ${dir}`, shell: true, timeout: '1s' },
        },
      },
    });
    const result = await apply(dir);
    expect(result.code).toBe(EXIT.failed);
    expect(result.stdout).toContain('timed out after 1s');
    await eventually(() => running(/sleep 300[12]/g) === 0, 'no sleep left on the host', 8000);
  }, 60_000);

  it('a command that ignores SIGTERM on the host is killed 5 s after its connection closes', async () => {
    const dir = workDir();
    plan(dir, {
      hosts: { box: sshd().host() },
      services: {
        deaf: {
          host: 'box',
          start: { run: `trap '' TERM; sleep 3003; echo ${dir}`, shell: true, timeout: '1s' },
        },
      },
    });
    // When the sleep was last seen alive, watched from the start (a loaded machine may be slow
    // to finish the apply, never quick to kill).
    const started = Date.now();
    let lastSeen = 0;
    const watch = setInterval(() => {
      if (running(/^sleep 3003$/gm) > 0) lastSeen = Date.now() - started;
    }, 100);
    try {
      const result = await apply(dir);
      expect(result.code).toBe(EXIT.failed);
      await eventually(() => running(/^sleep 3003$/gm) === 0, 'the sleep killed on the host', 15_000);
    } finally {
      clearInterval(watch);
    }
    // The connection closed at the 1 s deadline; SIGTERM alone left it running, SIGKILL came 5 s later.
    expect(lastSeen).toBeGreaterThanOrEqual(5000);
  }, 60_000);

  it('commands started together on a host share one connection: one login, not one per command', async () => {
    const dir = workDir();
    const services: Record<string, unknown> = {};
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) services[name] = { host: 'box', start: 'true' };
    plan(dir, { hosts: { box: sshd().host() }, services });
    const logins = () =>
      readFileSync(join(sshd().dir, 'sshd.log'), 'utf8').match(/Accepted publickey/g)?.length ?? 0;
    const before = logins();
    const result = await apply(dir, '--concurrency', '4');
    expect(result.code, result.stdout + result.stderr).toBe(EXIT.ok);
    expect(logins() - before).toBe(1);
    // With reuse turned off, each command logs in on its own.
    plan(dir, {
      hosts: { box: sshd().host({ ssh_options: { ...sshOptions(), ControlMaster: 'no' } }) },
      services,
    });
    const fresh = logins();
    expect((await apply(dir, '--concurrency', '4')).code).toBe(EXIT.ok);
    expect(logins() - fresh).toBe(6);
  }, 60_000);

  it('a start command that leaves a process holding its output ends when it exits, as it would here', async () => {
    const dir = workDir();
    plan(dir, {
      hosts: { box: sshd().host() },
      services: {
        bg: { host: 'box', start: { run: `sleep 3009 & echo started ${dir}`, shell: true }, timeout: '30s' },
      },
    });
    const started = Date.now();
    const result = await apply(dir);
    try {
      expect(result.code, result.stdout + result.stderr).toBe(EXIT.ok);
      // ssh alone would wait for the sleep: its output is the session's.
      expect(Date.now() - started).toBeLessThan(15_000);
      // What the command started in the background is its own business, as with a local command.
      expect(processesWith('sleep\u00003009')).toHaveLength(1);
    } finally {
      for (const pid of processesWith('sleep\u00003009')) process.kill(pid, 'SIGKILL');
    }
  }, 60_000);

  it('a hung connection (a server that never answers) is cut by the service timeout', async () => {
    const dir = workDir();
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      plan(dir, {
        hosts: { mute: sshd().host({ port }) },
        services: { stuck: { host: 'mute', start: 'true', timeout: '2s' } },
      });
      const started = Date.now();
      const result = await apply(dir);
      expect(result.code).toBe(EXIT.failed);
      expect(result.stdout).toMatch(
        /stuck\s+FAILED\s+start command: still running when the deadline of 2s passed/,
      );
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      silent.close();
    }
  }, 60_000);

  it("a host's concurrency caps its services in flight, whatever the global cap", async () => {
    const dir = workDir();
    const log = join(dir, 'log');
    const step = (name: string) => `echo + ${name} >> ${log}; sleep 0.4; echo - ${name} >> ${log}`;
    const services: Record<string, unknown> = {};
    for (const name of ['a', 'b', 'c', 'd', 'e'])
      services[name] = { host: 'box', start: { run: step(name), shell: true } };
    plan(dir, { hosts: { box: sshd().host({ concurrency: 2 }) }, services });
    const result = await apply(dir, '--concurrency', '8');
    expect(result.code, result.stdout + result.stderr).toBe(EXIT.ok);
    let running = 0;
    let most = 0;
    for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
      running += line.startsWith('+') ? 1 : -1;
      most = Math.max(most, running);
    }
    expect(most).toBe(2);
  }, 60_000);

  it('plan shows the host of each service; plan --live probes remote exec checks and never starts anything', async () => {
    const dir = workDir();
    const [closed] = (await freePorts(1)) as [number];
    writeFile(dir, 'present', 'x');
    plan(dir, {
      hosts: { box: sshd().host(), closed: sshd().host({ port: closed }) },
      services: {
        up: { host: 'box', start: `touch ${dir}/started-up`, health: [{ exec: `test -f ${dir}/present` }] },
        down: {
          host: 'box',
          start: `touch ${dir}/started-down`,
          health: [{ exec: `test -f ${dir}/absent` }],
        },
        ghost: { host: 'box', start: 'true', health: [{ exec: 'no-such-check-xyz' }] },
        away: { host: 'closed', start: 'true', health: [{ exec: 'true' }] },
      },
    });
    const shown = await runCli(['plan', 'plan.yaml'], { cwd: dir });
    expect(shown.code).toBe(EXIT.ok);
    expect(shown.stdout).toContain(`host    box: ${sshd().user}@127.0.0.1:${sshd().port}`);
    const live = await runCli(['plan', 'plan.yaml', '--live'], { cwd: dir, timeoutMs: 30_000 });
    expect(live.code, live.stdout + live.stderr).toBe(EXIT.ok);
    expect(live.stdout).toMatch(/up.*\[healthy/);
    expect(live.stdout).toMatch(/down.*\[not healthy/);
    // A check that cannot run says why in the words a start command would.
    expect(live.stdout).toContain('command not found on box: no-such-check-xyz');
    expect(live.stdout).toMatch(/away.*ssh: connect to host 127\.0\.0\.1 port \d+: Connection refused/);
    expect(live.stdout).not.toContain('exit 255');
    expect(existsSync(join(dir, 'started-up')) || existsSync(join(dir, 'started-down'))).toBe(false);
  }, 60_000);
});
