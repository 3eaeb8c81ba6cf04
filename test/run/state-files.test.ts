import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { directLauncher } from '../../src/run/places/process/launch.js';
import { Redactor } from '../../src/run/redact.js';
import { JournalWriter } from '../../src/run/state/journal/writer.js';
import { takeLock } from '../../src/run/state/lock.js';
import { writePidFile } from '../../src/run/state/pid-file.js';
import { openRunLog } from '../../src/run/state/run-log.js';
import { chooseStateDir, newRunId } from '../../src/run/state/state-dir.js';
import {
  checkStateDirectory,
  openStateFile,
  StateError,
  writeFileAtomic,
} from '../../src/run/state/state-files.js';
import { eventually, isAlive } from '../helpers/processes.js';
import { useTempDir } from '../helpers/tmp.js';

const tempDir = useTempDir();

/** A link at `dir/name` to a victim file holding "precious"; returns both paths. */
function linked(dir: string, name: string): { link: string; victim: string } {
  const victim = join(dir, `victim-${name}`);
  writeFileSync(victim, 'precious\n');
  const link = join(dir, name);
  symlinkSync(victim, link);
  return { link, victim };
}

const refusal = (path: string) => expect.objectContaining({ kind: 'unusable', path });

describe('state files are opened without following links (the guard behind the up-front check)', () => {
  it.each(['read', 'append', 'extend'] as const)('openStateFile(%s) refuses a link', (how) => {
    const { link, victim } = linked(tempDir(), 'file');
    expect(() => openStateFile(link, how)).toThrow(StateError);
    expect(() => openStateFile(link, how)).toThrow(/is a symbolic link/);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it.each(['read', 'append', 'extend'] as const)(
    'openStateFile(%s) refuses a FIFO at once, without blocking',
    (how) => {
      const fifo = join(tempDir(), 'd.pid');
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      expect(() => openStateFile(fifo, how)).toThrow(/is not a regular file/);
    },
  );

  it('a journal resumed through a link is refused, the target not cut short', () => {
    const dir = tempDir();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'not json, no newline');
    symlinkSync(victim, join(dir, 'run.jsonl'));
    expect(() => JournalWriter.resume(join(dir, 'run.jsonl'), 'r', new Redactor([]), () => {})).toThrow(
      refusal(join(dir, 'run.jsonl')),
    );
    expect(readFileSync(victim, 'utf8')).toBe('not json, no newline');
  });

  it('a run log that is a link is refused, the target not appended to', () => {
    const { link, victim } = linked(tempDir(), 'run.log');
    expect(() => openRunLog(link, 'r', () => {})).toThrow(refusal(link));
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it('a lock that is a link is refused, never read nor replaced through', () => {
    const dir = tempDir();
    const { victim } = linked(dir, 'lock');
    expect(() => takeLock(dir)).toThrow(refusal(join(dir, 'lock')));
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it('a daemon whose log is a link is not started, and the target is untouched', async () => {
    const dir = tempDir();
    const { link, victim } = linked(dir, 'd.log');
    const launched = await directLauncher.launchDaemon(
      { file: 'sleep', args: ['3011'], cwd: dir, env: undefined },
      { logFile: link, pidFile: join(dir, 'd.pid'), redact: [] },
    );
    expect(launched).toMatchObject({ ok: false, message: expect.stringContaining('symbolic link') });
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(readdirSync(dir).sort()).toEqual(['d.log', 'victim-d.log']);
  });

  it.each([[[] as string[]], [['s3cret']]])(
    'a daemon pid file planted as a link is replaced, not written through (redact %j)',
    async (redact) => {
      const dir = tempDir();
      const { link, victim } = linked(dir, 'd.pid');
      const launched = await directLauncher.launchDaemon(
        { file: 'sleep', args: ['3012'], cwd: dir, env: undefined },
        { logFile: join(dir, 'd.log'), pidFile: link, redact },
      );
      if (!launched.ok) throw new Error(launched.message);
      try {
        expect(readFileSync(victim, 'utf8')).toBe('precious\n');
        expect(lstatSync(link).isFile()).toBe(true);
        expect(readFileSync(link, 'utf8')).toBe(`${launched.pid}\n`);
        expect(statSync(link).mode & 0o777).toBe(0o600);
      } finally {
        process.kill(-launched.pid, 'SIGKILL');
        await eventually(() => !isAlive(launched.pid), 'the daemon to go', 5000);
      }
    },
  );
});

describe('whole small files are replaced by rename, never truncated in place', () => {
  it('writeFileAtomic gives a new file (new inode, 0600), leaves no temp file, and replaces a link itself', () => {
    const dir = tempDir();
    const file = join(dir, 'x.pid');
    writeFileSync(file, '123\n');
    const before = statSync(file).ino;
    writeFileAtomic(file, '456\n');
    expect(readFileSync(file, 'utf8')).toBe('456\n');
    expect(statSync(file).ino).not.toBe(before);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['x.pid']);

    const { link, victim } = linked(dir, 'y.pid');
    writePidFile(link, 789);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(link).isSymbolicLink()).toBe(false);
    expect(readFileSync(link, 'utf8')).toBe('789\n');
  });

  it("the lock's run is recorded by replacing the lock file, not by truncating it", () => {
    const dir = tempDir();
    const lock = takeLock(dir);
    if (!lock.ok) throw new Error('not taken');
    const before = statSync(join(dir, 'lock')).ino;
    lock.value.setRun('20261125T084019094Z-9df1aa00');
    expect(statSync(join(dir, 'lock')).ino).not.toBe(before);
    expect(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8'))).toMatchObject({
      pid: process.pid,
      run: '20261125T084019094Z-9df1aa00',
    });
    lock.value.release();
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('the lock appears whole or not at all', () => {
  it('is linked into place from a complete file: never empty, no temp file left, a second taker refused', () => {
    const dir = tempDir();
    const lock = takeLock(dir);
    if (!lock.ok) throw new Error('not taken');
    // Linked from a temp file already complete before the link: one name, whole content.
    expect(statSync(join(dir, 'lock')).nlink).toBe(1);
    expect(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8'))).toMatchObject({ pid: process.pid });
    expect(readdirSync(dir)).toEqual(['lock']);
    const second = takeLock(dir);
    expect(second.ok).toBe(false);
    expect(readdirSync(dir)).toEqual(['lock']);
    lock.value.release();
  });

  it('a dangling link planted as the lock is not created through', () => {
    const dir = tempDir();
    const target = join(dir, 'elsewhere');
    symlinkSync(target, join(dir, 'lock'));
    expect(() => takeLock(dir)).toThrow(StateError);
    expect(() => statSync(target)).toThrow();
  });
});

describe('the state dir must be yours and writable by no one else', () => {
  it.each([
    [0o770, 'writable by its group (mode 770)'],
    [0o707, 'writable by everyone (mode 707)'],
  ])('mode %o is refused', (mode, words) => {
    const dir = join(tempDir(), 'state');
    mkdirSync(dir);
    chmodSync(dir, mode);
    expect(() => checkStateDirectory(dir)).toThrow(words);
  });

  it('a directory of another user is refused', () => {
    expect(process.getuid?.(), 'giving a directory away needs root (CI runs as root)').toBe(0);
    const dir = join(tempDir(), 'state');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    expect(() => checkStateDirectory(dir)).toThrow('belongs to uid 65534, not to you (uid 0)');
  });

  it('an inner directory that is a link is refused; the state dir itself may be reached through one', () => {
    const base = tempDir();
    mkdirSync(join(base, 'real'), { mode: 0o700 });
    symlinkSync(join(base, 'real'), join(base, 'via'));
    expect(() => checkStateDirectory(join(base, 'via'))).toThrow('is a symbolic link');
    expect(() => checkStateDirectory(join(base, 'via'), true)).not.toThrow();
  });
});

describe('where state lives and what runs are called', () => {
  it('the default is .restore in the plan file directory, from any working directory; env, then flag override', () => {
    const base = tempDir();
    mkdirSync(join(base, 'ops'));
    const fromInside = chooseStateDir(undefined, 'plan.yaml', {}, join(base, 'ops'));
    const fromAbove = chooseStateDir(undefined, 'ops/plan.yaml', {}, base);
    expect(fromInside).toEqual({ dir: join(base, 'ops', '.restore'), from: 'default' });
    expect(fromAbove).toEqual(fromInside);
    // A link to the plan's directory is the same plan, the same state.
    symlinkSync(join(base, 'ops'), join(base, 'link'));
    expect(chooseStateDir(undefined, 'link/plan.yaml', {}, base)).toEqual(fromInside);
    expect(chooseStateDir(undefined, 'ops/plan.yaml', { RESTORE_STATE_DIR: 'st' }, base)).toEqual({
      dir: join(base, 'st'),
      from: 'env',
    });
    expect(chooseStateDir('fl', 'ops/plan.yaml', { RESTORE_STATE_DIR: 'st' }, base)).toEqual({
      dir: join(base, 'fl'),
      flag: 'fl',
      from: 'flag',
    });
  });

  it('run ids sort by time and carry 32 random bits from a secure source', () => {
    const at = new Date('2026-11-25T08:40:19.094Z');
    const ids = Array.from({ length: 2000 }, () => newRunId(at));
    for (const id of ids) expect(id).toMatch(/^20261125T084019094Z-[0-9a-f]{8}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(newRunId(new Date('2026-11-25T08:40:19.095Z')) > ids[0]!).toBe(true);
  });
});
