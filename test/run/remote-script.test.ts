import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedHost } from '../../src/plan/model.js';
import { groupAlive } from '../../src/run/places/process/process-group.js';
import {
  daemonScript,
  END_MARKER,
  framed,
  PID_MARKER,
  REMOTE_COMMAND_LINE,
  remoteServicesDir,
  runScript,
} from '../../src/run/places/ssh/script.js';
import { SshHosts } from '../../src/run/places/ssh/ssh.js';
import { eventually, killAllWith, processesWith } from '../helpers/processes.js';
import { command } from '../helpers/resolved.js';
import { useTempDir } from '../helpers/tmp.js';

/**
 * The scripts restore sends to a host, run by a real local sh exactly as sshd runs them: the
 * login shell gets REMOTE_COMMAND_LINE, in a session of its own, with the script on its input.
 */
const tempDir = useTempDir();
const markers: string[] = [];
afterEach(() => {
  for (const marker of markers.splice(0)) killAllWith(marker);
});

interface Session {
  child: ChildProcess;
  output: () => string;
  ended: Promise<number | null>;
}

/** A "remote" session: `sh -c <command line>` as its own session leader, the script on stdin. */
function session(script: string, watched = true, home?: string, path?: string): Session {
  const child = spawn('/bin/sh', ['-c', REMOTE_COMMAND_LINE], {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...(home ? { HOME: home } : {}), ...(path ? { PATH: path } : {}) },
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const ended = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  child.stdin?.write(framed(script, watched));
  if (!watched) child.stdin?.end();
  return { child, output: () => out, ended };
}

describe('remote scripts (SPEC 6), run by sh as sshd runs them', () => {
  it('run the command with every argument as written, then print the end marker with its status', async () => {
    const weird = ['a b', '$HOME', '; echo pwned', "it's", '*', '`id`', 'line\nbreak', ''];
    const s = session(runScript(command(['sh', '-c', 'printf "<%s>\\n" "$@"; exit 3', 'sh', ...weird])));
    await eventually(() => s.output().includes(END_MARKER), 'the end marker');
    s.child.stdin?.end();
    expect(await s.ended).toBe(3);
    expect(s.output()).toBe(`${weird.map((w) => `<${w}>`).join('\n')}\n${END_MARKER} 3\n`);
  });

  it('nothing the command reads comes from the script: its input is empty', async () => {
    const s = session(runScript(command(['sh', '-c', 'wc -c'])));
    await eventually(() => s.output().includes(END_MARKER), 'the end marker');
    s.child.stdin?.end();
    await s.ended;
    expect(s.output()).toBe(`0\n${END_MARKER} 0\n`);
  });

  it('working directory and environment, values exactly as written', async () => {
    const dir = tempDir();
    const value = "two\nlines, a 'quote' and $DOLLAR";
    const s = session(
      runScript(command(['sh', '-c', 'pwd; printf "%s\\n" "$SECRET"'], { cwd: dir, env: { SECRET: value } })),
    );
    await eventually(() => s.output().includes(END_MARKER), 'the end marker');
    s.child.stdin?.end();
    await s.ended;
    expect(s.output()).toBe(`${dir}\n${value}\n${END_MARKER} 0\n`);
  });

  it('when the input closes before the command ends, its whole process tree dies', async () => {
    const marker = join(tempDir(), 'tree');
    markers.push(marker);
    const s = session(runScript(command([`sleep 3004 & sleep 3005 # ${marker}`], { shell: true })));
    await eventually(
      () => processesWith('sleep\u00003004').length > 0 && processesWith('sleep\u00003005').length > 0,
      'both sleeps',
    );
    s.child.stdin?.end();
    await s.ended;
    await eventually(
      () => processesWith('sleep\u00003004').length === 0 && processesWith('sleep\u00003005').length === 0,
      'no sleep left',
    );
    // The watcher itself goes last, after its grace between SIGTERM and SIGKILL (5 s).
    await eventually(() => !groupAlive(s.child.pid!), 'the session group gone', 8000);
  }, 15_000);

  it('a script whose input is not watched runs with /dev/null as input, and ends on its own', async () => {
    const s = session('wc -c\nexit 4\n', false);
    expect(await s.ended).toBe(4);
    expect(s.output()).toBe('0\n');
  });

  it('a script longer than a pipe buffer is read whole before anything in it runs', async () => {
    const filler = Array.from({ length: 3000 }, (_, i) => `: ${'x'.repeat(20)} ${i}`).join('\n');
    const script = `${filler}\n${runScript(command(['echo', 'last']))}`;
    expect(Buffer.byteLength(script)).toBeGreaterThan(65_536);
    const s = session(script);
    await eventually(() => s.output().includes(END_MARKER), 'the end marker');
    s.child.stdin?.end();
    expect(await s.ended).toBe(0);
    expect(s.output()).toBe(`last\n${END_MARKER} 0\n`);
  });
});

describe('remote daemon scripts (SPEC 5 and 6)', () => {
  it('with secrets, the log on the host gets the output redacted, line by line as it comes', async () => {
    const home = tempDir();
    markers.push(home);
    const secrets = ['hunter22', 'hunter22-long', 'a.b*c'];
    // The values come in the environment, as `${VAR}` in a plan puts them: in no argv.
    const daemon = command(
      ['sh', '-c', `echo "token $T1 and $T2 and $T3, a.bxc"; echo to stderr >&2; sleep 3006 # ${home}`],
      { daemon: true, env: { T1: 'hunter22-long', T2: 'hunter22', T3: 'a.b*c' } },
    );
    const s = session(daemonScript(daemon, 'plan', 'web', secrets), true, home);
    await eventually(() => s.output().includes(PID_MARKER), 'the pid marker');
    const dir = join(home, remoteServicesDir('plan'));
    const log = join(dir, 'web.log');
    await eventually(() => existsSync(log) && readFileSync(log, 'utf8').includes('to stderr'), 'the log');
    expect(readFileSync(log, 'utf8')).toBe(
      'token [REDACTED] and [REDACTED] and [REDACTED], a.bxc\nto stderr\n',
    );
    const pid = Number(readFileSync(join(dir, 'web.pid'), 'utf8'));
    expect(s.output()).toContain(`${PID_MARKER}${pid}`);
    // The values reach awk in its environment only: no process list shows them.
    expect(processesWith('hunter22')).toEqual([]);
    s.child.stdin?.end();
    await s.ended;
    // The daemon outlives the session; stopping it ends the redactor too.
    process.kill(-pid, 'SIGTERM');
    await eventually(() => processesWith(home).length === 0, 'the daemon and its redactor gone');
  });

  it('with secrets on a host without awk, the start fails at once and says why', async () => {
    const home = tempDir();
    const bin = join(home, 'bin');
    mkdirSync(bin);
    for (const tool of ['sh', 'mkdir', 'rm', 'mkfifo', 'setsid', 'sleep']) {
      symlinkSync(
        execFileSync('/bin/sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(),
        join(bin, tool),
      );
    }
    const daemon = command(['sleep', '3006'], { daemon: true });
    const s = session(daemonScript(daemon, 'plan', 'web', ['hunter22']), false, home, bin);
    expect(await s.ended).toBe(125);
    expect(s.output()).toContain('awk not found on this host');
  });

  it('without secrets, the output goes straight to the log', async () => {
    const home = tempDir();
    markers.push(home);
    const daemon = command(['sh', '-c', `echo plain; sleep 3006 # ${home}`], { daemon: true });
    const s = session(daemonScript(daemon, 'plan', 'web'), true, home);
    await eventually(() => s.output().includes(PID_MARKER), 'the pid marker');
    const log = join(home, remoteServicesDir('plan'), 'web.log');
    await eventually(() => existsSync(log) && readFileSync(log, 'utf8') === 'plain\n', 'the log');
    expect(existsSync(join(home, remoteServicesDir('plan'), 'web.fifo'))).toBe(false);
    s.child.stdin?.end();
    await s.ended;
    // sh execs the daemon's last command, so its argv has lost the marker: it is stopped by the
    // process group of the pid file, as restore stops it.
    const pid = Number(readFileSync(join(home, remoteServicesDir('plan'), 'web.pid'), 'utf8'));
    process.kill(-pid, 'SIGTERM');
    await eventually(() => !groupAlive(pid), 'the daemon gone');
  });
});

describe('turns on a host: commands started together share the connection the first one opens', () => {
  const host: ResolvedHost = {
    name: 'box',
    address: '127.0.0.1',
    user: null,
    port: 22,
    identity_file: null,
    concurrency: null,
    ssh_options: {},
  };

  it('the first goes at once; the others wait until the connection socket exists', async () => {
    const dir = tempDir();
    const ssh = new SshHosts({ box: host }, dir);
    const first = await ssh.turn(host, 10_000);
    expect(first.waitedMs).toBe(0);
    let waited: number | undefined;
    const second = ssh.turn(host, 10_000).then((turn) => {
      waited = turn.waitedMs;
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(waited).toBeUndefined();
    writeFileSync(join(dir, 'box'), ''); // what ssh binds once the connection is up
    await second;
    expect(waited).toBeGreaterThanOrEqual(100);
    first.done();
    // Known to be up now: nobody waits.
    expect((await ssh.turn(host, 10_000)).waitedMs).toBe(0);
  });

  it('the others go when the first ends without a connection, so each fails in its own words', async () => {
    const ssh = new SshHosts({ box: host }, tempDir());
    const first = await ssh.turn(host, 10_000);
    const second = ssh.turn(host, 10_000);
    setTimeout(() => first.done(), 100);
    const turn = await second;
    expect(turn.waitedMs).toBeGreaterThanOrEqual(90);
    expect(turn.waitedMs).toBeLessThan(2000);
    // The next command opens anew.
    expect((await ssh.turn(host, 10_000)).waitedMs).toBe(0);
  });

  it('a waiter gives up after half its deadline, or at once when interrupted', async () => {
    const ssh = new SshHosts({ box: host }, tempDir());
    await ssh.turn(host, 10_000); // opens, and never ends
    const started = Date.now();
    const turn = await ssh.turn(host, 400);
    expect(turn.waitedMs).toBeGreaterThanOrEqual(190);
    expect(Date.now() - started).toBeLessThan(2000);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const interrupted = await ssh.turn(host, null, controller.signal);
    expect(interrupted.waitedMs).toBeLessThan(1000);
  });

  it('a host with reuse turned off never waits', async () => {
    const off = { ...host, ssh_options: { ControlMaster: 'no' } };
    const ssh = new SshHosts({ box: off }, tempDir());
    await ssh.turn(off, 10_000);
    expect((await ssh.turn(off, 10_000)).waitedMs).toBe(0);
  });
});
