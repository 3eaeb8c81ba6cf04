import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readLogTail, spawnDaemon } from '../../src/run/places/process/daemon.js';
import { directLauncher, type Launcher, type LaunchRequest } from '../../src/run/places/process/launch.js';
import { LineSplitter, MAX_LINE_CHARS } from '../../src/run/places/process/lines.js';
import { isAlive as alive, groupAlive, terminateGroup } from '../../src/run/places/process/process-group.js';
import { runCommand } from '../../src/run/places/process/run-command.js';
import { SpawnerLauncher } from '../../src/run/places/process/spawner.js';
import type { CommandSpec, Stream } from '../../src/run/places/process/types.js';
import { END_MARKER, readEndMarker } from '../../src/run/places/ssh/script.js';
import { eventually, isAlive, killAllWith, processesWith } from '../helpers/processes.js';
import { specBuilders } from '../helpers/specs.js';
import { useTempDir } from '../helpers/tmp.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const OUTPUT = fixture('exec-output.mjs');
const STUBBORN = fixture('exec-stubborn.mjs');

const tempDir = useTempDir();
let dir = '';
/** What starts the commands of the test: restore's own process, or its spawner helper. */
let launcher: Launcher = directLauncher;
const useLauncher = (next: Launcher) => {
  launcher = next;
};

const { spec, sh } = specBuilders(() => dir);
const node = (code: string, ...args: string[]) => spec([process.execPath, '-e', code, ...args]);
const output = (...args: string[]) => spec([process.execPath, OUTPUT, ...args]);

/** Every process a test started or learnt of; whatever is left of them is killed after each test. */
const started = new Set<number>();
function track(pid: number | null | undefined): number {
  if (pid) started.add(pid);
  return pid ?? 0;
}
afterEach(() => {
  for (const pid of started) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
  started.clear();
});

async function run(
  s: CommandSpec,
  options: { signal?: AbortSignal; killGraceMs?: number; display?: string; onLine?: () => void } = {},
) {
  const lines: [Stream, string][] = [];
  const pids: number[] = [];
  const record = await runCommand(s, {
    ...options,
    launcher,
    onLine: (stream, line) => {
      lines.push([stream, line]);
      // Commands in these tests announce the processes they start as "pid N" / "child N".
      const announced = /^(?:pid|child) (\d+)$/.exec(line);
      if (announced) pids.push(track(Number(announced[1])));
      options.onLine?.();
    },
  });
  track(record.pid);
  const of = (stream: Stream) => lines.filter(([s]) => s === stream).map(([, l]) => l);
  return { record, lines, pids, stdout: of('stdout'), stderr: of('stderr') };
}

/** Resolves once a command has printed its first line. */
function firstLine() {
  let resolve: () => void = () => {};
  const printed = new Promise<void>((r) => {
    resolve = r;
  });
  return { printed, onLine: resolve };
}

/** The helper as it ships, next to the bundle: these tests need `npm run build` first. */
const HELPER = fileURLToPath(new URL('../../dist/bundle/spawner-main.js', import.meta.url));
if (!existsSync(HELPER)) throw new Error(`${HELPER} is missing: run \`npm run build\` first`);

const spawner = new SpawnerLauncher(HELPER);
afterAll(() => spawner.close());

// Every behaviour holds whether commands start in this process or from the spawner helper.
describe.each([
  ['started directly', directLauncher],
  ['started by the spawner helper', spawner],
] as [string, Launcher][])('SPEC 4 step 5: running a command, %s', (_label, each) => {
  const setup = async () => {
    dir = tempDir();
    useLauncher(each);
    if (each === spawner) await eventually(() => spawner.ready, 'the spawner to boot', 5000);
  };
  afterEach(() => useLauncher(directLauncher));

  it('streams output line by line in order per stream, tagged by stream, the last line without a newline too', async () => {
    await setup();
    const { record, stdout, stderr } = await run(
      output('out:one', 'err:uno', 'out:two', 'err:dos', 'out:three', 'err-tail:tres', 'out-tail:four'),
    );
    expect(record).toMatchObject({ failure: null, exitCode: 0, signal: null, message: 'exited with code 0' });
    expect(stdout).toEqual(['one', 'two', 'three', 'four']);
    expect(stderr).toEqual(['uno', 'dos', 'tres']);
  });

  it('hands each line on while the command is still running, not when it ends', async () => {
    await setup();
    const arrivals: number[] = [];
    const record = await runCommand(
      node("console.log('first'); setTimeout(() => console.log('second'), 500)"),
      {
        launcher,
        onLine: () => arrivals.push(Date.now()),
      },
    );
    expect(record.failure).toBeNull();
    expect(arrivals).toHaveLength(2);
    const ended = record.startedAt + record.durationMs;
    expect(ended - arrivals[0]!).toBeGreaterThanOrEqual(300);
  });

  it('passes a 1 MB single line on whole', async () => {
    await setup();
    const { stdout } = await run(output('out:before', `out-bytes:${MAX_LINE_CHARS}`, 'out:after'));
    expect(stdout.map((line) => line.length)).toEqual([6, MAX_LINE_CHARS, 5]);
    expect(stdout[1]).toBe('x'.repeat(MAX_LINE_CHARS));
  });

  it("applies the command's env over restore's own, and its cwd", async () => {
    await setup();
    const { stdout } = await run(
      node('console.log(process.env.GREETING, process.env.PATH === undefined, process.cwd())'),
    );
    expect(stdout).toEqual([`undefined false ${dir}`]);
    const withEnv = await run({
      ...node(
        'console.log(process.env.GREETING, process.env.PATH === process.env.EXPECTED_PATH, process.cwd())',
      ),
      env: { GREETING: 'hi there', EXPECTED_PATH: process.env.PATH ?? '' },
    });
    expect(withEnv.stdout).toEqual([`hi there true ${dir}`]);
  });

  it('passes shell metacharacters as plain arguments without a shell', async () => {
    await setup();
    const args = ['a;b', '|', '$(x)', '*', '&&', "'q'", '$HOME', '>out'];
    const { stdout, record } = await run(node('console.log(JSON.stringify(process.argv.slice(1)))', ...args));
    expect(JSON.parse(stdout[0]!)).toEqual(args);
    // Nothing was redirected or expanded either.
    expect(() => statSync(join(dir, 'out'))).toThrow();
    expect(record.argv).toEqual([process.execPath, '-e', expect.any(String), ...args]);
  });

  it('runs through /bin/sh -c with shell: true', async () => {
    await setup();
    const { stdout, record } = await run(sh('echo "$0" | tr a-z A-Z; X=1; echo "x=$X" > out; cat out'));
    expect(stdout).toEqual(['/BIN/SH', 'x=1']);
    expect(record.command).toBe(`sh -c 'echo "$0" | tr a-z A-Z; X=1; echo "x=$X" > out; cat out'`);
  });

  it('records the command shell-quoted, or as the caller displays it', async () => {
    await setup();
    expect((await run(spec(['echo', 'two words', "it's"]))).record.command).toBe(
      `echo 'two words' 'it'"'"'s'`,
    );
    expect((await run(spec(['echo', 'secret']), { display: 'echo ${TOKEN}' })).record.command).toBe(
      'echo ${TOKEN}',
    );
  });

  it('reports a non-zero exit', async () => {
    await setup();
    const { record } = await run(output('out:failing', 'exit:3'));
    expect(record).toMatchObject({
      failure: 'exit-non-zero',
      exitCode: 3,
      signal: null,
      timedOut: false,
      message: 'exited with code 3',
    });
    expect(record.pid).toBeGreaterThan(0);
  });

  it('reports a command killed by a signal restore did not send', async () => {
    await setup();
    const { record } = await run(sh('kill -KILL $$'));
    expect(record).toMatchObject({ failure: 'killed', signal: 'SIGKILL', message: 'killed by SIGKILL' });
  });

  it('kills the whole process tree at the deadline, leaving no survivor', async () => {
    await setup();
    const before = Date.now();
    const { record, pids } = await run(
      sh('sleep 100 & echo "child $!"; sh -c \'sleep 100 & echo "child $!"; wait\' & sleep 100', {
        timeoutMs: 300,
      }),
    );
    expect(record).toMatchObject({ failure: 'timeout', timedOut: true, message: 'timed out after 300ms' });
    expect(record.signal).toBe('SIGTERM');
    expect(Date.now() - before).toBeLessThan(3000);
    // A child and a grandchild, both gone by the time the record is returned.
    expect(pids).toHaveLength(2);
    for (const pid of [...pids, record.pid!]) expect(isAlive(pid)).toBe(false);
    expect(groupAlive(record.pid!)).toBe(false);
  });

  it('formats the deadline for people', async () => {
    await setup();
    const { record } = await run(sh('sleep 100', { timeoutMs: 1000 }));
    expect(record.message).toBe('timed out after 1s');
  });

  it('sends SIGKILL after the grace to a command tree that ignores SIGTERM', async () => {
    await setup();
    const before = Date.now();
    // The deadline leaves node time to start and set its handler even on a loaded CI machine:
    // a SIGTERM that arrives before the handler kills it, and proves nothing.
    const { record, pids, stdout } = await run(
      spec([process.execPath, STUBBORN, '--child'], { timeoutMs: 3000 }),
      {
        killGraceMs: 300,
      },
    );
    expect(stdout).toContain('ignoring SIGTERM');
    expect(record).toMatchObject({ failure: 'timeout', signal: 'SIGKILL', message: 'timed out after 3s' });
    // Not before the grace had passed, and not the default 5 s either.
    expect(Date.now() - before).toBeGreaterThanOrEqual(3300);
    expect(Date.now() - before).toBeLessThan(7000);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  });

  it('an abort terminates the command group: interrupted', async () => {
    await setup();
    const controller = new AbortController();
    const first = firstLine();
    const running = run(sh('sleep 100 & echo "child $!"; sleep 100'), {
      signal: controller.signal,
      killGraceMs: 500,
      onLine: first.onLine,
    });
    await first.printed;
    controller.abort();
    const { record, pids } = await running;
    expect(record).toMatchObject({ failure: 'interrupted', timedOut: false, message: 'interrupted' });
    expect(isAlive(pids[0]!)).toBe(false);
    expect(isAlive(record.pid!)).toBe(false);
  });

  it('does not start a command once the run is interrupted', async () => {
    await setup();
    const marker = join(dir, 'ran');
    const { record } = await run(sh(`touch ${marker}`), { signal: AbortSignal.abort() });
    expect(record).toMatchObject({ failure: 'interrupted', pid: null });
    expect(() => statSync(marker)).toThrow();
  });

  it('says in one line when a command cannot start', async () => {
    await setup();
    expect((await run(spec(['no-such-program-xyz', '--flag']))).record).toMatchObject({
      failure: 'spawn-error',
      pid: null,
      exitCode: null,
      message: 'command not found: no-such-program-xyz',
    });
    const script = join(dir, 'not-executable.sh');
    writeFileSync(script, 'echo hi\n', { mode: 0o644 });
    expect((await run(spec([script]))).record).toMatchObject({
      failure: 'spawn-error',
      message: `permission denied: ${script}`,
    });
    const missing = join(dir, 'missing');
    expect((await run(spec(['true'], { cwd: missing }))).record).toMatchObject({
      failure: 'spawn-error',
      message: `working directory ${missing} does not exist`,
    });
    expect((await run(spec(['true'], { cwd: script }))).record).toMatchObject({
      failure: 'spawn-error',
      message: `working directory ${script} is not a directory`,
    });
    expect((await run(spec(['echo', 'a\0b']))).record).toMatchObject({
      failure: 'spawn-error',
      message: 'an argument contains a NUL byte',
    });
    // Nothing of this took the spawner helper down.
    if (launcher === spawner) expect(spawner.ready).toBe(true);
  });

  it('does not wait for pipes that a background child keeps open after the command exits', async () => {
    await setup();
    const before = Date.now();
    const { record, pids } = await run(sh('sleep 5 & echo "child $!"'));
    expect(record.failure).toBeNull();
    expect(pids).toHaveLength(1);
    expect(Date.now() - before).toBeLessThan(3000);
  });
});

describe('SPEC 4 step 8: process groups', () => {
  it('terminating a group that is already gone does nothing and does not throw', async () => {
    dir = tempDir();
    const { record } = await run(spec(['true']));
    expect(groupAlive(record.pid!)).toBe(false);
    await expect(terminateGroup(record.pid!, 100)).resolves.toBeUndefined();
    await expect(terminateGroup(2 ** 22 + 12345, 100)).resolves.toBeUndefined();
  });

  it('a zombie is not alive, and a group left with only zombies is gone', async () => {
    dir = tempDir();
    // The setsid'd shell leads a group of its own and exits at once; its parent has meanwhile
    // become `sleep 100`, which never reaps it: a zombie, alone in its group, that signal 0 reaches.
    const controller = new AbortController();
    const first = firstLine();
    const running = run(sh('setsid sh -c \'echo "child $$"\' & exec sleep 100'), {
      signal: controller.signal,
      killGraceMs: 100,
      onLine: first.onLine,
    });
    await first.printed;
    const zombie = [...started].at(-1)!;
    await eventually(() => /\) Z /.test(readFileSync(`/proc/${zombie}/stat`, 'utf8')), 'a zombie');
    expect(() => process.kill(-zombie, 0)).not.toThrow();
    expect(alive(zombie)).toBe(false);
    expect(groupAlive(zombie)).toBe(false);
    expect(alive(process.pid)).toBe(true);
    controller.abort();
    expect((await running).record.failure).toBe('interrupted');
  });

  it('terminateGroup stops a group, SIGKILL after the grace when SIGTERM is ignored', async () => {
    dir = tempDir();
    let pid = 0;
    const first = firstLine();
    const running = runCommand(spec([process.execPath, STUBBORN]), {
      onLine: (_stream, line) => {
        pid = track(Number(/^pid (\d+)$/.exec(line)?.[1] ?? pid));
        first.onLine();
      },
    });
    await first.printed;
    expect(alive(pid)).toBe(true);
    expect(groupAlive(pid)).toBe(true);
    const before = Date.now();
    await terminateGroup(pid, 200);
    expect(Date.now() - before).toBeGreaterThanOrEqual(200);
    expect(alive(pid)).toBe(false);
    expect(groupAlive(pid)).toBe(false);
    expect(await running).toMatchObject({
      failure: 'killed',
      signal: 'SIGKILL',
      message: 'killed by SIGKILL',
    });
  });
});

describe('the spawner helper', () => {
  afterEach(() => useLauncher(directLauncher));

  it('relays many lines of output intact', async () => {
    dir = tempDir();
    useLauncher(spawner);
    await eventually(() => spawner.ready, 'the spawner to boot', 5000);
    const { stdout } = await run(
      node("for (let i = 0; i < 20000; i++) console.log('line ' + i + ' ' + 'x'.repeat(40))"),
    );
    expect(stdout).toHaveLength(20000);
    expect(stdout[19999]).toBe(`line 19999 ${'x'.repeat(40)}`);
  });

  it('falls back to starting commands directly when the helper is gone', async () => {
    dir = tempDir();
    const doomed = new SpawnerLauncher(HELPER);
    await eventually(() => doomed.ready, 'the spawner to boot', 5000);
    doomed.kill();
    await eventually(() => !doomed.ready, 'the spawner to be gone', 5000);
    useLauncher(doomed);
    expect((await run(sh('echo still works'))).lines).toEqual([['stdout', 'still works']]);
  });

  it('whose entry cannot run leaves commands started directly, and refuses to relay redacted daemons', async () => {
    dir = tempDir();
    const broken = new SpawnerLauncher(join(dir, 'no-such-entry.js'));
    useLauncher(broken);
    expect((await run(sh('echo still works'))).lines).toEqual([['stdout', 'still works']]);
    const daemon = await broken.launchDaemon(
      { file: 'sleep', args: ['3015'], cwd: dir, env: undefined },
      { logFile: join(dir, 'd.log'), pidFile: join(dir, 'd.pid'), redact: ['s3cret'] },
    );
    expect(daemon).toMatchObject({ ok: false, message: expect.stringContaining('log relay') });
    expect(broken.ready).toBe(false);
  });
});

describe('the launcher (execa underneath)', () => {
  /** Runs a launch to its end, collecting its standard output. */
  async function launched(request: LaunchRequest) {
    const chunks: Buffer[] = [];
    const result = await directLauncher.launch(request, (stream, chunk) => {
      if (stream === 'stdout') chunks.push(chunk);
    });
    if (!result.ok) throw new Error(result.message);
    track(result.process.pid);
    const status = await result.process.finished;
    return { status, stdout: Buffer.concat(chunks).toString() };
  }
  const printEnv = 'process.stdout.write(JSON.stringify(process.env))';

  it("gives a command exactly the environment asked for, or restore's own when none is", async () => {
    dir = tempDir();
    const given = await launched({
      file: process.execPath,
      args: ['-e', printEnv],
      cwd: dir,
      env: { ONLY: 'this' },
    });
    expect(JSON.parse(given.stdout)).toEqual({ ONLY: 'this' });
    const inherited = await launched({
      file: process.execPath,
      args: ['-e', printEnv],
      cwd: dir,
      env: undefined,
    });
    expect(JSON.parse(inherited.stdout)).toEqual({ ...process.env });
  });

  it("reports a start that failed with the system's code and message, not an exception", async () => {
    dir = tempDir();
    const onChunk = () => {};
    expect(
      await directLauncher.launch(
        { file: 'no-such-program-xyz', args: [], cwd: dir, env: undefined },
        onChunk,
      ),
    ).toEqual({ ok: false, code: 'ENOENT', message: 'spawn no-such-program-xyz ENOENT' });
    const script = join(dir, 'not-executable.sh');
    writeFileSync(script, 'echo hi\n', { mode: 0o644 });
    expect(
      await directLauncher.launch({ file: script, args: [], cwd: dir, env: undefined }, onChunk),
    ).toEqual({
      ok: false,
      code: 'EACCES',
      message: `spawn ${script} EACCES`,
    });
  });

  it('reads no output while paused: the command blocks on its full pipe, and goes on when resumed', async () => {
    dir = tempDir();
    const size = 4 * 1024 * 1024;
    let received = 0;
    const result = await directLauncher.launch(
      {
        file: process.execPath,
        args: ['-e', `process.stdout.write('x'.repeat(${size}))`],
        cwd: dir,
        env: undefined,
      },
      (_stream, chunk) => {
        received += chunk.length;
      },
    );
    if (!result.ok) throw new Error(result.message);
    const { pid, finished } = result.process;
    track(pid);
    result.process.pause();
    let done = false;
    void finished.then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    // A pipe holds 64 KiB; what was read before the pause is at most a chunk or two more.
    expect(received).toBeLessThan(size / 2);
    expect(done).toBe(false);
    expect(isAlive(pid)).toBe(true);
    result.process.resume();
    expect(await finished).toEqual({ exitCode: 0, signal: null });
    expect(received).toBe(size);
  });

  it('leaves daemons and one-shot commands running when the process that started them exits', async () => {
    dir = tempDir();
    // The compiled launcher, in a Node process of its own that exits once both have started.
    const launch = pathToFileURL(
      fileURLToPath(new URL('../../dist/src/run/places/process/launch.js', import.meta.url)),
    );
    const code = `
      const { directLauncher } = await import(${JSON.stringify(launch.href)});
      const request = (seconds) => ({ file: 'sleep', args: [seconds], cwd: ${JSON.stringify(dir)}, env: undefined });
      const files = { logFile: ${JSON.stringify(join(dir, 'd.log'))}, pidFile: ${JSON.stringify(join(dir, 'd.pid'))}, redact: [] };
      const daemon = await directLauncher.launchDaemon(request('3016'), files);
      const command = await directLauncher.launch(request('3017'), () => {});
      console.log(JSON.stringify([daemon.pid, command.process.pid]));
      process.exit(0);
    `;
    const pids = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' }),
    ) as number[];
    for (const pid of pids) track(pid);
    expect(pids).toHaveLength(2);
    // execa's cleanup (kill on exit) is off: the daemon is a restored service, and a command left
    // running by a restore that died is settled by the resumed run.
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const pid of pids) expect(isAlive(pid)).toBe(true);
  });
});

describe('the end marker of a remote script (SPEC 6)', () => {
  // A local process stands in for ssh: it prints the marker with a status, then lingers as ssh
  // does while something the command left holds the session's output.
  const lingering = (status: number) =>
    sh(`echo before; printf 'before-marker ${END_MARKER} ${status}\\n'; exec sleep 30`, {
      conversation: { input: '', endInputOn: END_MARKER, read: readEndMarker },
      timeoutMs: 400,
    });

  it("ends the command with the status it reports, 1 s later, past the command's deadline", async () => {
    dir = tempDir();
    const lines: string[] = [];
    const started = Date.now();
    const record = await runCommand(lingering(3), { onLine: (_stream, line) => lines.push(line) });
    expect(record).toMatchObject({ failure: 'exit-non-zero', exitCode: 3, timedOut: false });
    expect(lines).toEqual(['before', 'before-marker ']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(10_000);
    const ok = await runCommand(lingering(0));
    expect(ok).toMatchObject({ failure: null, exitCode: 0 });
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

describe('SPEC 4 step 5: daemons', () => {
  const files = (name: string) => ({ logFile: join(dir, `${name}.log`), pidFile: join(dir, `${name}.pid`) });
  async function spawned(s: CommandSpec, name: string) {
    const result = await spawnDaemon(s, files(name), launcher);
    if (!result.ok) throw new Error(`the daemon did not start: ${result.record.message}`);
    track(result.daemon.pid);
    return result.daemon;
  }

  it('keeps running after spawnDaemon returns, its output in its log file, its pid in its pid file', async () => {
    dir = tempDir();
    const { logFile, pidFile } = files('web');
    const daemon = await spawned(
      node("console.log('ready'); console.error('warming up'); setInterval(() => console.log('tick'), 50)"),
      'web',
    );
    expect(Number(readFileSync(pidFile, 'utf8'))).toBe(daemon.pid);
    expect(daemon.startedAt).toBeLessThanOrEqual(Date.now());
    await eventually(
      () => readFileSync(logFile, 'utf8').split('tick').length > 3,
      'the daemon to keep logging',
    );
    const log = readFileSync(logFile, 'utf8');
    expect(log).toMatch(/^ready\n/);
    expect(log).toContain('warming up\n');
    expect(isAlive(daemon.pid)).toBe(true);
    expect(daemon.hasExited()).toBe(false);
    // Its output goes to the file itself, not through a pipe restore would have to drain.
    expect(readlinkSync(`/proc/${daemon.pid}/fd/1`)).toBe(logFile);
    expect(readlinkSync(`/proc/${daemon.pid}/fd/2`)).toBe(logFile);
    // It leads a process group of its own.
    expect(groupAlive(daemon.pid)).toBe(true);
    expect(readFileSync(`/proc/${daemon.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]).toBe(
      String(daemon.pid),
    );
  });

  it('creates its log and pid files readable by their owner only (0600)', async () => {
    dir = tempDir();
    const { logFile, pidFile } = files('db');
    await spawned(sh('exec sleep 100'), 'db');
    expect(statSync(logFile).mode & 0o777).toBe(0o600);
    expect(statSync(pidFile).mode & 0o777).toBe(0o600);
  });

  it('appends to an existing log, remembering where its own output starts', async () => {
    dir = tempDir();
    const { logFile } = files('api');
    writeFileSync(logFile, 'an earlier run\n', { mode: 0o600 });
    const daemon = await spawned(sh('echo this run; exec sleep 100'), 'api');
    expect(daemon.logOffset).toBe('an earlier run\n'.length);
    await eventually(() => readFileSync(logFile, 'utf8').includes('this run'), 'the daemon output');
    expect(readFileSync(logFile, 'utf8')).toBe('an earlier run\nthis run\n');
  });

  it('`exited` resolves when it dies while restore runs', async () => {
    dir = tempDir();
    const daemon = await spawned(sh('exec sleep 100'), 'victim');
    process.kill(daemon.pid, 'SIGKILL');
    expect(await daemon.exited).toEqual({ exitCode: null, signal: 'SIGKILL' });
    expect(daemon.hasExited()).toBe(true);
  });

  it('`exited` reports its exit code, and its last output can be read back for the failure', async () => {
    dir = tempDir();
    const { logFile } = files('broken');
    writeFileSync(logFile, 'an earlier run\n');
    const daemon = await spawned(sh('echo starting; echo "fatal: no config" >&2; exit 4'), 'broken');
    expect(await daemon.exited).toEqual({ exitCode: 4, signal: null });
    expect(await readLogTail(logFile, daemon.logOffset)).toEqual(['starting', 'fatal: no config']);
  });

  it('stop() terminates its whole process group, children included', async () => {
    dir = tempDir();
    const { logFile } = files('tree');
    const daemon = await spawned(sh('sleep 100 & echo "child $!"; exec sleep 100'), 'tree');
    await eventually(() => readFileSync(logFile, 'utf8').includes('child'), 'the daemon to start its child');
    const child = track(Number(/child (\d+)/.exec(readFileSync(logFile, 'utf8'))![1]));
    expect(isAlive(child)).toBe(true);
    await daemon.stop(500);
    expect(await daemon.exited).toEqual({ exitCode: null, signal: 'SIGTERM' });
    expect(isAlive(daemon.pid)).toBe(false);
    expect(isAlive(child)).toBe(false);
  });

  it('stop() sends SIGKILL after the grace to a daemon that ignores SIGTERM', async () => {
    dir = tempDir();
    const { logFile } = files('stubborn');
    const daemon = await spawned(spec([process.execPath, STUBBORN]), 'stubborn');
    await eventually(() => readFileSync(logFile, 'utf8').includes('ready'), 'the daemon to be ready');
    const before = Date.now();
    await daemon.stop(300);
    expect(Date.now() - before).toBeGreaterThanOrEqual(300);
    expect(await daemon.exited).toEqual({ exitCode: null, signal: 'SIGKILL' });
  });

  it('that cannot start are a clear one-line failure, not an exception', async () => {
    dir = tempDir();
    expect(await spawnDaemon(spec(['no-such-daemon-xyz']), files('a'))).toMatchObject({
      ok: false,
      record: { failure: 'spawn-error', pid: null, message: 'command not found: no-such-daemon-xyz' },
    });
    const script = join(dir, 'daemon.sh');
    writeFileSync(script, '#!/bin/sh\nexec sleep 100\n', { mode: 0o644 });
    expect(await spawnDaemon(spec([script]), files('b'))).toMatchObject({
      ok: false,
      record: { failure: 'spawn-error', message: `permission denied: ${script}` },
    });
    chmodSync(script, 0o755);
    const missing = join(dir, 'nowhere');
    expect(await spawnDaemon(spec([script], { cwd: missing }), files('c'))).toMatchObject({
      ok: false,
      record: { failure: 'spawn-error', message: `working directory ${missing} does not exist` },
    });
    const noLogDir = { logFile: join(dir, 'no', 'such', 'd.log'), pidFile: join(dir, 'd.pid') };
    expect(await spawnDaemon(spec([script]), noLogDir)).toMatchObject({
      ok: false,
      record: { failure: 'spawn-error', message: `cannot open log file ${noLogDir.logFile}: ENOENT` },
    });
  });

  it('whose pid file cannot be written is stopped again and reported', async () => {
    dir = tempDir();
    const marker = `restore-exec-test-${process.pid}-${Date.now()}`;
    const pidFile = join(dir, 'is-a-directory');
    mkdirSync(pidFile);
    try {
      const result = await spawnDaemon(node('setInterval(() => {}, 1000)', marker), {
        logFile: join(dir, 'p.log'),
        pidFile,
      });
      expect(result).toMatchObject({
        ok: false,
        record: { failure: 'spawn-error', message: `cannot write pid file ${pidFile}: EISDIR` },
      });
      // SIGKILL was sent before spawnDaemon returned; the kernel may take a moment to reap it.
      await eventually(() => processesWith(marker).length === 0, 'the daemon to be gone', 2000);
    } finally {
      killAllWith(marker);
    }
  });
});

describe('reading back the end of a daemon log', () => {
  it('returns the lines written since the offset, at most maxBytes of them, whole lines only', async () => {
    dir = tempDir();
    const logFile = join(dir, 'x.log');
    writeFileSync(logFile, 'old 1\nold 2\nnew 1\r\nnew 2\nnew 3 without newline');
    const offset = 'old 1\nold 2\n'.length;
    expect(await readLogTail(logFile, offset)).toEqual(['new 1', 'new 2', 'new 3 without newline']);
    expect(await readLogTail(logFile, 0)).toEqual([
      'old 1',
      'old 2',
      'new 1',
      'new 2',
      'new 3 without newline',
    ]);
    // 25 bytes from the end start inside "new 2": that cut line is left out.
    expect(await readLogTail(logFile, offset, 25)).toEqual(['new 3 without newline']);
    expect(await readLogTail(logFile, 10_000)).toEqual([]);
    expect(await readLogTail(join(dir, 'missing.log'), 0)).toEqual([]);
  });
});
