import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { hasStackTrace, runCli } from '../helpers/cli.js';
import { useWorkDirs } from '../helpers/e2e.js';
import { releaseKey } from '../helpers/signing.js';
import { useSshd } from '../helpers/sshd.js';
import { writeFile } from '../helpers/tmp.js';

/**
 * SPEC section 7 through the real CLI: artifacts under `verify:` are checked where the service
 * runs, before every start attempt and for a service already healthy; a failure fails the service
 * with `reason: integrity`, its start never runs.
 */
const workDir = useWorkDirs();

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

interface Event {
  event: string;
  service?: string;
  reason?: string;
  message?: string;
  before?: string;
  files?: { kind: string; path: string; sha256: string }[];
  checked?: string[];
  services?: Record<string, { result: string; attempts: number }>;
}
const eventsOf = (stdout: string): Event[] =>
  stdout
    .trim()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Event);

function plan(dir: string, services: Record<string, unknown>, extra: Record<string, unknown> = {}): void {
  writeFile(dir, 'plan.yaml', JSON.stringify({ version: 1, name: 'integrity', ...extra, services }, null, 2));
}

const apply = (dir: string, ...args: string[]) =>
  runCli(['apply', 'plan.yaml', '--log-format', 'json', '--state-dir', join(dir, 'state'), ...args], {
    cwd: dir,
    timeoutMs: 60_000,
  });

/** A start command that leaves a trace: whether it ran is what the tests ask. */
const touch = (dir: string, name: string) => ['sh', '-c', `echo ran >> ${join(dir, `${name}.ran`)}`];

/** An artifact and its digest. */
function artifact(dir: string, name: string, content = `${name} 1.0\n`): { path: string; sha256: string } {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content, { mode: 0o644 });
  return { path, sha256: sha256(content) };
}

describe('SPEC 7: integrity before start, here', () => {
  it('file: a match is verified (service.verified with the digest) and started; the plan-relative path works', async () => {
    const dir = workDir();
    const bin = artifact(dir, 'bin/api');
    plan(dir, { api: { start: touch(dir, 'api'), verify: [{ file: 'bin/api', sha256: bin.sha256 }] } });
    const result = await apply(dir);
    expect(result.code).toBe(EXIT.ok);
    const verified = eventsOf(result.stdout).find((e) => e.event === 'service.verified');
    expect(verified).toMatchObject({
      service: 'api',
      before: 'start',
      files: [{ kind: 'file', path: 'bin/api', sha256: bin.sha256 }],
    });
    expect(readFileSync(join(dir, 'api.ran'), 'utf8')).toBe('ran\n');
    // The journal holds the same event, chained like every other.
    const journal = readFileSync(
      join(dir, 'state', 'integrity', 'runs', `${JSON.parse(result.stdout.split('\n')[0]!).run}.jsonl`),
      'utf8',
    );
    expect(journal).toContain(`"event":"service.verified"`);
    expect(journal).toContain(bin.sha256);
  });

  it('file: a mismatch fails the service with reason integrity and both digests, never starts it, blocks its dependents, exit 3', async () => {
    const dir = workDir();
    const bin = artifact(dir, 'bin/api');
    writeFileSync(bin.path, 'api 1.0 with a backdoor\n');
    const actual = sha256('api 1.0 with a backdoor\n');
    plan(dir, {
      api: { start: touch(dir, 'api'), verify: [{ file: 'bin/api', sha256: bin.sha256.toUpperCase() }] },
      web: { start: touch(dir, 'web'), depends_on: ['api'] },
    });
    const result = await apply(dir);
    expect(result.code).toBe(EXIT.failed);
    const events = eventsOf(result.stdout);
    const failed = events.find((e) => e.event === 'service.failed');
    expect(failed).toMatchObject({ service: 'api', reason: 'integrity' });
    expect(failed?.message).toBe(
      `integrity check failed: bin/api does not match: expected sha256 ${bin.sha256}, actual ${actual}`,
    );
    expect(events.some((e) => e.event === 'service.starting')).toBe(false);
    expect(events.find((e) => e.event === 'service.blocked')).toMatchObject({ service: 'web' });
    expect(existsSync(join(dir, 'api.ran'))).toBe(false);
    expect(existsSync(join(dir, 'web.ran'))).toBe(false);
    // status says why, in the same words.
    const status = await runCli(['status', 'plan.yaml', '--state-dir', join(dir, 'state')], { cwd: dir });
    expect(status.stdout).toContain(`expected sha256 ${bin.sha256}, actual ${actual}`);
  });

  it('a missing file, or a directory given as one, fails in words; a non-critical failure lets the rest run, exit 3', async () => {
    const dir = workDir();
    mkdirSync(join(dir, 'release'));
    plan(dir, {
      gone: {
        critical: false,
        start: touch(dir, 'gone'),
        verify: [{ file: 'nope.bin', sha256: 'a'.repeat(64) }],
      },
      folder: {
        critical: false,
        start: touch(dir, 'folder'),
        verify: [{ file: 'release', sha256: 'a'.repeat(64) }],
      },
      other: { start: touch(dir, 'other') },
    });
    const result = await apply(dir);
    expect(result.code).toBe(EXIT.failed);
    const failed = eventsOf(result.stdout).filter((e) => e.event === 'service.failed');
    expect(Object.fromEntries(failed.map((e) => [e.service, e.message]))).toEqual({
      gone: `integrity check failed: ${join(dir, 'nope.bin')}: no such file`,
      folder: `integrity check failed: ${join(dir, 'release')} is a directory, not a file`,
    });
    expect(existsSync(join(dir, 'other.ran'))).toBe(true);
    expect(hasStackTrace(result.stderr)).toBe(false);
  });

  it('manifest: the manifest and every file it lists match (journal lists each digest); a changed listed file fails', async () => {
    const dir = workDir();
    const a = artifact(dir, 'release/lib/a.so');
    const b = artifact(dir, 'release/b.dat');
    const sums = `${a.sha256}  lib/a.so\n${b.sha256} *b.dat\n`;
    const manifest = artifact(dir, 'release/SHA256SUMS', sums);
    plan(dir, {
      api: {
        start: touch(dir, 'api'),
        verify: [{ manifest: 'release/SHA256SUMS', sha256: manifest.sha256 }],
      },
    });
    const ok = await apply(dir);
    expect(ok.code).toBe(EXIT.ok);
    expect(eventsOf(ok.stdout).find((e) => e.event === 'service.verified')?.files).toEqual([
      { kind: 'manifest', path: 'release/SHA256SUMS', sha256: manifest.sha256 },
      { kind: 'listed', path: 'release/lib/a.so', sha256: a.sha256 },
      { kind: 'listed', path: 'release/b.dat', sha256: b.sha256 },
    ]);

    writeFileSync(b.path, 'b 2.0\n');
    const bad = await apply(dir);
    expect(bad.code).toBe(EXIT.failed);
    expect(eventsOf(bad.stdout).find((e) => e.event === 'service.failed')).toMatchObject({
      reason: 'integrity',
      message: `integrity check failed: release/b.dat (listed in release/SHA256SUMS) does not match: expected sha256 ${b.sha256}, actual ${sha256('b 2.0\n')}`,
    });
  });

  it('manifest: a changed manifest fails on its own digest; one naming a file outside its directory is refused', async () => {
    const dir = workDir();
    const a = artifact(dir, 'release/a');
    const secret = artifact(dir, 'elsewhere');
    const escaping = artifact(dir, 'release/ESCAPE', `${a.sha256}  a\n${secret.sha256}  ../elsewhere\n`);
    const absolute = artifact(dir, 'release/ABSOLUTE', `${secret.sha256}  ${secret.path}\n`);
    const pinned = artifact(dir, 'release/PINNED', `${a.sha256}  a\n`);
    writeFileSync(pinned.path, `${a.sha256}  a\n${secret.sha256}  b\n`);
    plan(dir, {
      escape: {
        critical: false,
        start: 'true',
        verify: [{ manifest: 'release/ESCAPE', sha256: escaping.sha256 }],
      },
      absolute: {
        critical: false,
        start: 'true',
        verify: [{ manifest: 'release/ABSOLUTE', sha256: absolute.sha256 }],
      },
      pinned: {
        critical: false,
        start: 'true',
        verify: [{ manifest: 'release/PINNED', sha256: pinned.sha256 }],
      },
    });
    const result = await apply(dir);
    expect(result.code).toBe(EXIT.failed);
    const messages = Object.fromEntries(
      eventsOf(result.stdout)
        .filter((e) => e.event === 'service.failed')
        .map((e) => [e.service, e.message]),
    );
    expect(messages).toEqual({
      escape:
        'integrity check failed: manifest release/ESCAPE, line 2: "../elsewhere" is outside the manifest\'s directory; refused',
      absolute: `integrity check failed: manifest release/ABSOLUTE, line 1: ${JSON.stringify(secret.path)} is outside the manifest's directory; refused`,
      pinned: `integrity check failed: release/PINNED does not match: expected sha256 ${pinned.sha256}, actual ${sha256(`${a.sha256}  a\n${secret.sha256}  b\n`)}`,
    });
  });

  it('signed: a good signature is verified; tampered, unknown identity, missing signature or allowed_signers fail in words', async () => {
    const dir = workDir();
    const key = releaseKey(dir);
    const release = artifact(dir, 'release.tar');
    key.sign(release.path);
    const signed = (extra: Record<string, unknown> = {}) => ({
      critical: false,
      start: 'true',
      verify: [
        { signed: 'release.tar', allowed_signers: key.allowedSigners, identity: key.identity, ...extra },
      ],
    });
    plan(dir, {
      good: signed(),
      stranger: signed({ identity: 'mallory@example.com' }),
      unsigned: signed({ signature: 'none.sig' }),
      untrusted: signed({ allowed_signers: 'no-signers' }),
      namespace: signed({ namespace: 'git' }),
    });
    const result = await apply(dir);
    expect(result.code).toBe(EXIT.failed);
    const events = eventsOf(result.stdout);
    const verified = events.find((e) => e.event === 'service.verified');
    expect(verified).toMatchObject({
      service: 'good',
      files: [{ kind: 'signed', path: 'release.tar', sha256: release.sha256 }],
    });
    expect(verified?.checked?.[0]).toMatch(/^release.tar: Good "file" signature for release@example.com/);
    const messages = Object.fromEntries(
      events.filter((e) => e.event === 'service.failed').map((e) => [e.service, e.message]),
    );
    expect(messages.stranger).toContain(
      'integrity check failed: signature release.tar.sig of release.tar is not a good signature by "mallory@example.com" (namespace "file")',
    );
    expect(messages.unsigned).toBe('integrity check failed: signature none.sig: no such file');
    expect(messages.untrusted).toBe('integrity check failed: allowed_signers no-signers: no such file');
    expect(messages.namespace).toContain(
      'is not a good signature by "release@example.com" (namespace "git")',
    );

    // The same release, changed after it was signed.
    writeFileSync(release.path, 'release 1.0 with a backdoor\n');
    plan(dir, { good: signed() });
    const tampered = await apply(dir);
    expect(tampered.code).toBe(EXIT.failed);
    expect(eventsOf(tampered.stdout).find((e) => e.event === 'service.failed')?.message).toContain(
      'signature release.tar.sig of release.tar is not a good signature',
    );
  });

  it('skip_if_healthy never skips integrity: a healthy service with a changed artifact fails; an intact one is verified, then skipped', async () => {
    const dir = workDir();
    const bin = artifact(dir, 'bin/api');
    const healthy = { checks: [{ exec: 'true' }] };
    plan(dir, {
      intact: {
        start: touch(dir, 'intact'),
        health: healthy,
        verify: [{ file: 'bin/api', sha256: bin.sha256 }],
      },
      changed: {
        critical: false,
        start: touch(dir, 'changed'),
        health: healthy,
        verify: [{ file: 'bin/api', sha256: 'b'.repeat(64) }],
      },
    });
    const result = await apply(dir);
    expect(result.code).toBe(EXIT.failed);
    const events = eventsOf(result.stdout);
    const of = (service: string) => events.filter((e) => e.service === service).map((e) => e.event);
    expect(of('intact')).toEqual(['service.probe', 'service.verified', 'service.already-healthy']);
    expect(events.find((e) => e.event === 'service.verified')?.before).toBe('skip');
    expect(of('changed')).toEqual(['service.probe', 'service.failed']);
    expect(existsSync(join(dir, 'changed.ran'))).toBe(false);
  });

  it('is checked before every attempt (a retry verifies again), and a verify-only service is verified too', async () => {
    const dir = workDir();
    const bin = artifact(dir, 'bin/job');
    plan(dir, {
      job: {
        start: ['sh', '-c', 'exit 1'],
        retries: 2,
        retry_delay: '10ms',
        critical: false,
        verify: [{ file: 'bin/job', sha256: bin.sha256 }],
      },
      watched: { verify: [{ file: 'bin/job', sha256: bin.sha256 }] },
    });
    const result = await apply(dir);
    expect(result.code).toBe(EXIT.failed);
    const events = eventsOf(result.stdout);
    const of = (service: string) =>
      events.filter((e) => e.service === service && e.event !== 'service.attempt').map((e) => e.event);
    expect(of('job')).toEqual([
      ...Array(3).fill(['service.verified', 'service.starting']).flat(),
      'service.failed',
    ]);
    expect(of('watched')).toEqual(['service.verified', 'service.healthy']);
  });

  it("defaults.verify applies to every service without its own; a service's list replaces it", async () => {
    const dir = workDir();
    const shared = artifact(dir, 'shared.bin');
    const own = artifact(dir, 'own.bin');
    plan(
      dir,
      {
        inherits: { start: 'true' },
        replaces: { start: 'true', verify: [{ file: 'own.bin', sha256: own.sha256 }] },
      },
      { defaults: { verify: [{ file: 'shared.bin', sha256: shared.sha256 }] } },
    );
    const result = await apply(dir);
    expect(result.code).toBe(EXIT.ok);
    const files = Object.fromEntries(
      eventsOf(result.stdout)
        .filter((e) => e.event === 'service.verified')
        .map((e) => [e.service, e.files?.map((f) => f.path)]),
    );
    expect(files).toEqual({ inherits: ['shared.bin'], replaces: ['own.bin'] });
    // Off a terminal, one line a step says what was verified.
    const plain = await runCli(['apply', 'plan.yaml', '--state-dir', join(dir, 'plain')], { cwd: dir });
    expect(plain.code).toBe(EXIT.ok);
    expect(plain.stdout).toMatch(/inherits +verified {2}1 file \(shared\.bin\)/);
    expect(plain.stdout).toMatch(/replaces +verified {2}1 file \(own\.bin\)/);
  });

  it('apply --resume checks a service recorded healthy again: an artifact replaced in between fails it', async () => {
    const dir = workDir();
    const bin = artifact(dir, 'bin/api');
    const gate = join(dir, 'gate');
    plan(dir, {
      api: {
        start: 'true',
        health: { checks: [{ exec: 'true' }] },
        skip_if_healthy: false,
        verify: [{ file: 'bin/api', sha256: bin.sha256 }],
      },
      web: { start: ['test', '-e', gate], depends_on: ['api'] },
    });
    expect((await apply(dir)).code).toBe(EXIT.failed);
    writeFileSync(gate, '');
    writeFileSync(bin.path, 'replaced while the run was stopped\n');
    const resumed = await apply(dir, '--resume');
    expect(resumed.code).toBe(EXIT.failed);
    const failed = eventsOf(resumed.stdout).find((e) => e.event === 'service.failed');
    expect(failed).toMatchObject({ service: 'api', reason: 'integrity' });
    expect(failed?.message).toContain(`bin/api does not match: expected sha256 ${bin.sha256}`);
  });
});

describe('SPEC 7: what plan shows, what the digest covers, what validation refuses', () => {
  const items = (hex: string) => [
    { file: '/srv/api/bin/api', sha256: hex },
    { manifest: 'release/SHA256SUMS', sha256: 'b'.repeat(64) },
    {
      signed: 'release.tar',
      allowed_signers: '/etc/restore/allowed_signers',
      identity: 'release@example.com',
    },
  ];

  it('plan (text, markdown, json) and apply --dry-run show every item; the digest changes with a sha256', async () => {
    const dir = workDir();
    plan(dir, { api: { start: 'true', verify: items('a'.repeat(64)) } });
    const text = await runCli(['plan', 'plan.yaml'], { cwd: dir });
    expect(text.code).toBe(EXIT.ok);
    expect(text.stdout).toContain(`verify  file /srv/api/bin/api sha256 ${'a'.repeat(64)}`);
    expect(text.stdout).toContain(
      `manifest release/SHA256SUMS sha256 ${'b'.repeat(64)}, and every file it lists`,
    );
    expect(text.stdout).toContain(
      'signed release.tar by release@example.com (signature release.tar.sig, allowed_signers /etc/restore/allowed_signers, namespace file)',
    );
    const dry = await runCli(['apply', 'plan.yaml', '--dry-run'], { cwd: dir });
    expect(dry.stdout).toContain(`verify  file /srv/api/bin/api sha256 ${'a'.repeat(64)}`);
    const markdown = await runCli(['plan', 'plan.yaml', '--format', 'markdown'], { cwd: dir });
    expect(markdown.stdout).toContain(`verify: \`file /srv/api/bin/api sha256 ${'a'.repeat(64)}\``);
    const json = JSON.parse((await runCli(['plan', 'plan.yaml', '--format', 'json'], { cwd: dir })).stdout);
    expect(json.stages[0].services[0].verify).toEqual([
      { kind: 'file', file: '/srv/api/bin/api', sha256: 'a'.repeat(64) },
      { kind: 'manifest', manifest: 'release/SHA256SUMS', sha256: 'b'.repeat(64) },
      {
        kind: 'signed',
        signed: 'release.tar',
        signature: 'release.tar.sig',
        allowed_signers: '/etc/restore/allowed_signers',
        identity: 'release@example.com',
        namespace: 'file',
      },
    ]);

    plan(dir, { api: { start: 'true', verify: items(`${'a'.repeat(63)}b`) } });
    const other = JSON.parse((await runCli(['plan', 'plan.yaml', '--format', 'json'], { cwd: dir })).stdout);
    expect(other.digest).not.toBe(json.digest);
    // --expect-digest with the old digest refuses the plan whose pinned digest changed.
    const refused = await runCli(['apply', 'plan.yaml', '--expect-digest', json.digest], { cwd: dir });
    expect(refused.code).toBe(EXIT.invalid);
  });

  it('validation: sha256 must be 64 hex digits, one kind per item, each kind with what it needs', async () => {
    const dir = workDir();
    plan(
      dir,
      {
        api: {
          start: 'true',
          verify: [
            { file: 'a', sha256: 'abc' },
            { file: 'a', manifest: 'b', sha256: 'a'.repeat(64) },
            { sha256: 'a'.repeat(64) },
            { manifest: 'm' },
            { signed: 's', allowed_signers: 'x' },
            { signed: 's', allowed_signers: 'x', identity: 'i', sha256: 'a'.repeat(64) },
            { file: 'a', sha256: 'a'.repeat(64), identity: 'i' },
          ],
        },
      },
      { defaults: { verify: [{ file: 'd', sha256: 'z'.repeat(64) }] } },
    );
    const result = await runCli(['validate', '--format', 'json', 'plan.yaml'], { cwd: dir });
    expect(result.code).toBe(EXIT.invalid);
    const found = (JSON.parse(result.stdout) as { code: string; message: string }[]).map(
      (d) => `${d.code}: ${d.message}`,
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^invalid-value: .*services\.api\.verify\[0\]\.sha256.*"abc"/),
        expect.stringMatching(/^invalid-value: .*defaults\.verify\[0\]\.sha256/),
        expect.stringMatching(
          /^invalid-value: .*verify\[1\].*exactly one of file, manifest or signed; this one has file and manifest/,
        ),
        expect.stringMatching(/^invalid-value: .*verify\[2\].*needs one of file, manifest or signed/),
        expect.stringMatching(/^missing-key: .*verify\[3\].*`manifest` needs `sha256`/),
        expect.stringMatching(/^missing-key: .*verify\[4\].*`signed` needs `identity`/),
        expect.stringMatching(/^invalid-value: .*verify\[5\]\.sha256.*does not belong with `signed`/),
        expect.stringMatching(/^invalid-value: .*verify\[6\]\.identity.*does not belong with `file`/),
      ]),
    );
    const schema = JSON.parse((await runCli(['schema'])).stdout);
    expect(JSON.stringify(schema)).toContain('"allowed_signers"');
  });
});

describe('SPEC 7: integrity on a remote host, over a real sshd', () => {
  const sshd = useSshd();

  it('file and signed items are checked on the host with its own tools: a match starts, a mismatch and a bad signature fail', async () => {
    const dir = workDir();
    // The remote user reads the artifacts here (the host is this machine).
    chmodSync(dir, 0o755);
    const bin = artifact(dir, 'bin/api');
    const key = releaseKey(dir);
    const release = artifact(dir, 'release.tar');
    key.sign(release.path);
    const a = artifact(dir, 'rel/a');
    const manifest = artifact(dir, 'rel/SHA256SUMS', `${a.sha256}  a\n`);
    const signed = { signed: release.path, allowed_signers: key.allowedSigners, identity: key.identity };
    plan(
      dir,
      {
        good: {
          host: 'box',
          start: 'true',
          verify: [
            { file: bin.path, sha256: bin.sha256 },
            { manifest: manifest.path, sha256: manifest.sha256 },
            signed,
          ],
        },
        mismatch: {
          host: 'box',
          critical: false,
          start: 'true',
          verify: [{ file: bin.path, sha256: 'c'.repeat(64) }],
        },
        stranger: {
          host: 'box',
          critical: false,
          start: 'true',
          verify: [{ ...signed, identity: 'mallory@example.com' }],
        },
      },
      { hosts: { box: sshd().host() } },
    );
    const result = await apply(dir);
    expect(result.code).toBe(EXIT.failed);
    const events = eventsOf(result.stdout);
    expect(events.find((e) => e.event === 'service.verified' && e.service === 'good')?.files).toEqual([
      { kind: 'file', path: bin.path, sha256: bin.sha256 },
      { kind: 'manifest', path: manifest.path, sha256: manifest.sha256 },
      { kind: 'listed', path: a.path, sha256: a.sha256 },
      { kind: 'signed', path: release.path, sha256: release.sha256 },
    ]);
    const messages = Object.fromEntries(
      events.filter((e) => e.event === 'service.failed').map((e) => [e.service, e.message]),
    );
    expect(messages.mismatch).toBe(
      `integrity check failed (on box): ${bin.path} does not match: expected sha256 ${'c'.repeat(64)}, actual ${bin.sha256}`,
    );
    expect(messages.stranger).toContain('integrity check failed (on box): signature');
    expect(messages.stranger).toContain('is not a good signature by "mallory@example.com"');
    expect(events.find((e) => e.event === 'run.finished')?.services?.good?.result).toBe('healthy');
  }, 60_000);
});
