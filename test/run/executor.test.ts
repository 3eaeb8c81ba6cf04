import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readLogTail, spawnDaemon } from '../../src/run/executor/daemon.js';
import { directLauncher, type Launcher, useLauncher } from '../../src/run/executor/launch.js';
import { LineSplitter, MAX_LINE_CHARS } from '../../src/run/executor/lines.js';
import { runCommand } from '../../src/run/executor/run-command.js';
import { SpawnerLauncher } from '../../src/run/executor/spawner.js';
import type { CommandSpec, Stream } from '../../src/run/executor/types.js';
import { execCheck } from '../../src/run/probes/exec.js';
import { eventually, isAlive } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'restore-exec-'));
const spec = (argv: string[], extra: Partial<CommandSpec> = {}): CommandSpec => ({
  argv,
  shell: false,
  cwd: dir,
  env: {},
  timeoutMs: null,
  ...extra,
});
const sh = (script: string, extra: Partial<CommandSpec> = {}) => spec([script], { shell: true, ...extra });
const node = (code: string, ...args: string[]) => spec([process.execPath, '-e', code, ...args]);

async function run(s: CommandSpec, options: { signal?: AbortSignal; killGraceMs?: number } = {}) {
  const lines: [Stream, string][] = [];
  const record = await runCommand(s, { ...options, onLine: (stream, line) => lines.push([stream, line]) });
  return { record, lines };
}

const spawner = new SpawnerLauncher();
afterAll(() => spawner.close());

// Every behaviour holds whether commands start in this process or from the spawner helper.
describe.each([
  ['started directly', directLauncher],
  ['started by the spawner helper', spawner],
] as [string, Launcher][])('SPEC 4 step 5: running commands, %s', (_label, launcher) => {
  afterEach(() => useLauncher(directLauncher));
  const setup = async () => {
    useLauncher(launcher);
    if (launcher === spawner) await eventually(() => spawner.ready, 'the spawner to boot', 5000);
  };

  it('streams output line by line, tagged by stream, the last line without a newline too', async () => {
    await setup();
    const { record, lines } = await run(sh('echo one; echo two >&2; printf three'));
    expect(record).toMatchObject({ failure: null, exitCode: 0 });
    expect(lines.filter(([s]) => s === 'stdout').map(([, l]) => l)).toEqual(['one', 'three']);
    expect(lines.filter(([s]) => s === 'stderr').map(([, l]) => l)).toEqual(['two']);
  });

  it('applies env and cwd', async () => {
    await setup();
    const { lines } = await run({ ...sh('echo "$GREETING" && pwd'), env: { GREETING: 'hi there' } });
    expect(lines.map(([, l]) => l)).toEqual(['hi there', dir]);
  });

  it('passes shell metacharacters as plain arguments without a shell', async () => {
    await setup();
    const args = ['a;b', '|', '$(x)', '*', '&&', "'q'"];
    const { lines } = await run(node('console.log(JSON.stringify(process.argv.slice(1)))', ...args));
    expect(JSON.parse(lines[0]![1])).toEqual(args);
  });

  it('reports a non-zero exit', async () => {
    await setup();
    const { record } = await run(sh('exit 3'));
    expect(record).toMatchObject({ failure: 'exit-non-zero', exitCode: 3, message: 'exited with code 3' });
  });

  it('kills the whole process tree at the deadline, SIGKILL after the grace if SIGTERM is ignored', async () => {
    await setup();
    const pidFile = join(dir, `child-${launcher === spawner ? 'h' : 'd'}.pid`);
    const started = Date.now();
    const { record } = await run(
      sh(`trap '' TERM; sh -c 'trap "" TERM; sleep 30' & echo $! > ${pidFile}; sleep 30`, { timeoutMs: 300 }),
      { killGraceMs: 300 },
    );
    expect(record).toMatchObject({ failure: 'timeout', timedOut: true, message: 'timed out after 300ms' });
    expect(Date.now() - started).toBeLessThan(3000);
    const child = Number(readFileSync(pidFile, 'utf8'));
    await eventually(() => !isAlive(child), 'the grandchild to be gone', 2000);
  });

  it('an abort terminates the command: interrupted', async () => {
    await setup();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const { record } = await run(sh('sleep 30'), { signal: controller.signal, killGraceMs: 500 });
    expect(record.failure).toBe('interrupted');
  });

  it('says clearly when a command cannot start', async () => {
    await setup();
    expect((await run(spec(['no-such-program-xyz']))).record).toMatchObject({
      failure: 'spawn-error',
      message: 'command not found: no-such-program-xyz',
    });
    const script = join(dir, 'not-executable.sh');
    writeFileSync(script, 'echo hi\n', { mode: 0o644 });
    expect((await run(spec([script]))).record.message).toBe(`permission denied: ${script}`);
    expect((await run(spec(['true'], { cwd: join(dir, 'missing') }))).record.message).toBe(
      `working directory ${join(dir, 'missing')} does not exist`,
    );
  });

  it('does not wait for pipes that a background child keeps open after the command exits', async () => {
    await setup();
    const started = Date.now();
    const { record } = await run(sh('sleep 5 & echo started'));
    expect(record.failure).toBeNull();
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('the spawner helper', () => {
  it('relays a megabyte of output intact', async () => {
    useLauncher(spawner);
    try {
      await eventually(() => spawner.ready, 'the spawner to boot', 5000);
      const { lines } = await run(
        node("for (let i = 0; i < 20000; i++) console.log('line ' + i + ' ' + 'x'.repeat(40))"),
      );
      expect(lines).toHaveLength(20000);
      expect(lines[19999]![1]).toBe(`line 19999 ${'x'.repeat(40)}`);
    } finally {
      useLauncher(directLauncher);
    }
  });

  it('falls back to starting commands directly when the helper is gone', async () => {
    const doomed = new SpawnerLauncher();
    await eventually(() => doomed.ready, 'the spawner to boot', 5000);
    doomed.kill();
    await eventually(() => !doomed.ready, 'the spawner to be gone', 5000);
    useLauncher(doomed);
    try {
      expect((await run(sh('echo still works'))).lines).toEqual([['stdout', 'still works']]);
    } finally {
      useLauncher(directLauncher);
    }
  });
});

describe('output lines', () => {
  it('splits across chunk boundaries, including inside a multi-byte character and \\r\\n', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    const bytes = Buffer.from('héllo\r\nwörld\nend');
    for (let i = 0; i < bytes.length; i++) splitter.push(bytes.subarray(i, i + 1));
    splitter.end();
    expect(lines).toEqual(['héllo', 'wörld', 'end']);
  });

  it('passes an endless line on in bounded pieces', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    splitter.push(Buffer.alloc(MAX_LINE_CHARS * 2 + 10, 'a'));
    expect(lines.map((l) => l.length)).toEqual([MAX_LINE_CHARS, MAX_LINE_CHARS]);
    splitter.end();
    expect(lines.at(-1)).toHaveLength(10);
  });
});

describe('daemons', () => {
  it('keep running detached, log to their file (0600) and write their pid file (0600)', async () => {
    const logFile = join(dir, 'd.log');
    const pidFile = join(dir, 'd.pid');
    const spawned = await spawnDaemon(sh('echo ready; exec sleep 30'), { logFile, pidFile });
    expect(spawned.ok).toBe(true);
    if (!spawned.ok) return;
    const { daemon } = spawned;
    try {
      expect(Number(readFileSync(pidFile, 'utf8'))).toBe(daemon.pid);
      await eventually(() => readFileSync(logFile, 'utf8').includes('ready'), 'the daemon output');
      expect(statSync(logFile).mode & 0o777).toBe(0o600);
      expect(statSync(pidFile).mode & 0o777).toBe(0o600);
      expect(daemon.hasExited()).toBe(false);
      await daemon.stop(500);
      expect(await daemon.exited).toMatchObject({ signal: 'SIGTERM' });
      expect(isAlive(daemon.pid)).toBe(false);
    } finally {
      await daemon.stop(100);
    }
  });

  it('report their exit, and their last output can be read back', async () => {
    const logFile = join(dir, 'e.log');
    writeFileSync(logFile, 'an earlier run\n');
    const spawned = await spawnDaemon(sh('echo starting; echo "fatal: no config" >&2; exit 4'), {
      logFile,
      pidFile: join(dir, 'e.pid'),
    });
    if (!spawned.ok) throw new Error(spawned.record.message);
    expect(await spawned.daemon.exited).toEqual({ exitCode: 4, signal: null });
    expect(await readLogTail(logFile, spawned.daemon.logOffset)).toEqual(['starting', 'fatal: no config']);
  });

  it('that cannot start are a clear failure', async () => {
    const spawned = await spawnDaemon(spec(['no-such-daemon-xyz']), {
      logFile: join(dir, 'f.log'),
      pidFile: join(dir, 'f.pid'),
    });
    expect(spawned).toMatchObject({
      ok: false,
      record: { failure: 'spawn-error', message: 'command not found: no-such-daemon-xyz' },
    });
  });
});

describe('exec checks', () => {
  it('pass on exit 0 and fail with the last output line', async () => {
    expect(await execCheck(sh('exit 0'), { timeoutMs: 1000 })).toMatchObject({ ok: true, detail: 'exit 0' });
    expect(
      await execCheck(sh('echo checking; echo "db is down" >&2; exit 2'), { timeoutMs: 1000 }),
    ).toMatchObject({
      ok: false,
      detail: 'exit 2: db is down',
    });
  });

  it('are cut at their timeout', async () => {
    const result = await execCheck(sh('sleep 10'), { timeoutMs: 200 });
    expect(result).toMatchObject({ ok: false, detail: 'timed out after 200ms' });
    expect(result.durationMs).toBeLessThan(2500);
  });
});
