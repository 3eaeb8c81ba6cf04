import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPlan } from '../../src/plan/load.js';
import type { Place } from '../../src/run/places/place.js';
import { Places } from '../../src/run/places/places.js';
import { directLauncher } from '../../src/run/places/process/launch.js';
import { isAlive } from '../../src/run/places/process/process-group.js';
import { ensurePlanState } from '../../src/run/state/state-dir.js';
import { command } from '../helpers/resolved.js';
import { releaseKey } from '../helpers/signing.js';
import { useRemoteWorkDirs, useSshd } from '../helpers/sshd.js';
import { useTempDir, writeFile } from '../helpers/tmp.js';

/**
 * One interface, two places, one behaviour: everything the engine asks of a place (run a command,
 * an exec check, spawn/find/stop a daemon, hash a file, look for a program) holds the same on this
 * machine and on a host over ssh (a real sshd on 127.0.0.1, test/helpers/sshd.ts).
 */
const sshd = useSshd();

const tempDir = useTempDir();
const workDir = useRemoteWorkDirs(tempDir);
const opened: { places: Places; host: Place; name: string }[] = [];
afterEach(async () => {
  for (const { places, host, name } of opened.splice(0)) {
    // What the host keeps of the plan's daemons lives in the test user's home: it goes too.
    await host.run({ ...command(['rm', '-rf', `.restore/${name}`]) }, 10_000);
    await places.close();
  }
});

/** A plan with a service here and one on the test host; its places; a directory both can read. */
async function placesOf(): Promise<{ dir: string; here: Place; host: Place; places: Places }> {
  const dir = workDir();
  const name = `places-${randomBytes(4).toString('hex')}`;
  const file = writeFile(
    dir,
    'plan.yaml',
    JSON.stringify({
      version: 1,
      name,
      hosts: { box: sshd().host() },
      services: { local: { start: 'true' }, remote: { host: 'box', start: 'true' } },
    }),
  );
  const loaded = await loadPlan(file);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
  const places = new Places({
    plan: loaded.value.plan,
    planDir: dir,
    state: ensurePlanState(join(dir, 'state'), name),
    secrets: [],
    launcher: directLauncher,
  });
  const { services } = loaded.value.plan;
  const host = places.of(services.remote!);
  opened.push({ places, host, name });
  return { dir, here: places.of(services.local!), host, places };
}

describe.each(['here', 'host'] as const)('SPEC 6: a place where commands run (%s)', (which) => {
  const place = async () => {
    const all = await placesOf();
    return { ...all, place: all[which] };
  };

  it('a service is given its place once: here without host, its host with one', async () => {
    const { place: p } = await place();
    expect(p.where).toBe(which === 'here' ? 'here' : 'host box');
    expect(p.display(command(['pg_ctl', 'start']))).toBe(
      which === 'here' ? 'pg_ctl start' : 'pg_ctl start (on box)',
    );
    expect(p.tracksMarks).toBe(which === 'here');
  });

  it('runs a command to its end, output line by line, failures described', async () => {
    const { place: p, dir } = await place();
    const lines: string[] = [];
    const ok = await p.run(command(['sh', '-c', 'echo one; echo two >&2'], { cwd: dir }), 10_000, {
      onLine: (stream, line) => lines.push(`${stream}:${line}`),
    });
    expect(ok).toMatchObject({ failure: null, exitCode: 0 });
    expect(lines.sort()).toEqual(['stderr:two', 'stdout:one']);
    const failed = await p.run(command(['sh', '-c', 'echo broken >&2; exit 3']), 10_000);
    expect(failed).toMatchObject({ failure: 'exit-non-zero', exitCode: 3 });
    expect(failed.message).toContain('broken');
    const timedOut = await p.run(command(['sleep', '5']), 300);
    expect(timedOut).toMatchObject({ failure: 'timeout' });
  }, 30_000);

  it('an exec check passes on exit 0 and says why it failed otherwise', async () => {
    const { place: p } = await place();
    expect(await p.check(command(['true']), 5000)).toMatchObject({ kind: 'exec', ok: true });
    const failing = await p.check(command(['sh', '-c', 'echo not ready >&2; exit 1']), 5000);
    expect(failing.ok).toBe(false);
    expect(failing.detail).toContain('not ready');
    const missing = await p.check(command(['no-such-program-xyz']), 5000);
    expect(missing.ok).toBe(false);
    expect(missing.detail).toMatch(/not found/);
  }, 30_000);

  it('spawns a daemon, finds it from its pid file, and stops it with its group', async () => {
    const { place: p, dir } = await place();
    const daemon = command([process.execPath, '-e', 'setInterval(() => {}, 1000)', dir], { daemon: true });
    const controller = new AbortController();
    const spawned = await p.spawnDaemon('web', daemon, {
      mark: 'm',
      deadline: Date.now() + 20_000,
      signal: controller.signal,
    });
    if (!spawned.ok) throw new Error(spawned.record.message);
    expect(spawned.record.message).toMatch(/^spawned as pid \d+$/);
    // On disk before the place says it started: a restore killed now finds it again.
    const pid = spawned.daemon.pid;
    expect(await p.daemonPid('web')).toBe(pid);
    expect(await p.daemonAlive('web', pid)).toBe(true);
    spawned.daemon.release();
    const stopped = await p.stopDaemon('web', 2000);
    expect(stopped).toMatchObject({ ok: true, running: true });
    expect(stopped.message).toContain(String(pid));
    if (which === 'here') expect(isAlive(pid)).toBe(false);
    expect(await p.daemonPid('web')).toBeNull();
    expect(await p.stopDaemon('web', 2000)).toMatchObject({ ok: true, running: false });
  }, 40_000);

  it('hashes a file, streamed, relative paths from where the place starts', async () => {
    const { place: p, dir } = await place();
    const content = randomBytes(3 * 1024 * 1024 + 17);
    const file = join(dir, 'artifact.bin');
    writeFileSync(file, content, { mode: 0o644 });
    const expected = createHash('sha256').update(content).digest('hex');
    expect(await p.hashFile(file)).toEqual({ ok: true, sha256: expected });
    if (which === 'here') expect(await p.hashFile('artifact.bin')).toEqual({ ok: true, sha256: expected });
    const missing = await p.hashFile(join(dir, 'missing.bin'));
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.message).toContain('missing.bin');
    // A directory is said to be one, here and on a host alike (a verify: item naming one is a mistake).
    expect(await p.hashFile(dir)).toEqual({ ok: false, message: `${dir} is a directory, not a file` });
    expect(missing).toEqual({ ok: false, message: `${join(dir, 'missing.bin')}: no such file` });
  }, 30_000);

  it('reads a small text file whole, and refuses a large one, a directory or a missing file in words', async () => {
    const { place: p, dir } = await place();
    const manifest = writeFile(dir, 'SHA256SUMS', `${'a'.repeat(64)}  one\n${'b'.repeat(64)} *two\n`);
    expect(await p.readFile(manifest, 1024)).toEqual({
      ok: true,
      text: `${'a'.repeat(64)}  one\n${'b'.repeat(64)} *two\n`,
    });
    expect(await p.readFile(manifest, 100)).toEqual({
      ok: false,
      message: `${manifest} is larger than 100 bytes`,
    });
    expect(await p.readFile(dir, 1024)).toEqual({ ok: false, message: `${dir} is a directory, not a file` });
    expect(await p.readFile(join(dir, 'nope'), 1024)).toEqual({
      ok: false,
      message: `${join(dir, 'nope')}: no such file`,
    });
  }, 30_000);

  it('checks an OpenSSH signature with ssh-keygen there: good, tampered, unknown identity, missing files', async () => {
    const { place: p, dir } = await place();
    const key = releaseKey(dir);
    const file = writeFile(dir, 'release.tar', 'release 1.0\n');
    const signature = key.sign(file);
    const request = {
      file,
      signature,
      allowedSigners: key.allowedSigners,
      identity: key.identity,
      namespace: 'file',
    };
    const good = await p.verifySignature(request);
    expect(good.ok).toBe(true);
    expect(good.message).toMatch(/^Good "file" signature for release@example.com/);

    const stranger = await p.verifySignature({ ...request, identity: 'mallory@example.com' });
    expect(stranger.ok).toBe(false);
    expect(stranger.message).toContain('is not a good signature by "mallory@example.com"');

    const otherNamespace = await p.verifySignature({ ...request, namespace: 'git' });
    expect(otherNamespace.ok).toBe(false);

    writeFileSync(file, 'release 1.0 with a backdoor\n');
    const tampered = await p.verifySignature(request);
    expect(tampered.ok).toBe(false);
    expect(tampered.message).toContain(`signature ${signature} of ${file} is not a good signature`);

    const noSignature = await p.verifySignature({ ...request, signature: join(dir, 'none.sig') });
    expect(noSignature).toEqual({ ok: false, message: `signature ${join(dir, 'none.sig')}: no such file` });
    const noSigners = await p.verifySignature({ ...request, allowedSigners: join(dir, 'nobody') });
    expect(noSigners).toEqual({ ok: false, message: `allowed_signers ${join(dir, 'nobody')}: no such file` });
    const directory = await p.verifySignature({ ...request, file: dir });
    expect(directory).toEqual({ ok: false, message: `${dir} is a directory, not a file` });
  }, 30_000);

  it('knows whether a program can be run there', async () => {
    const { place: p, dir } = await place();
    expect(await p.hasProgram('sh')).toBe(true);
    expect(await p.hasProgram('no-such-program-xyz')).toBe(false);
    const tool = writeFile(dir, 'tool.sh', '#!/bin/sh\n');
    chmodSync(tool, 0o755);
    expect(await p.hasProgram(tool)).toBe(true);
    chmodSync(tool, 0o644);
    expect(await p.hasProgram(tool)).toBe(false);
  }, 30_000);
});
