import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { hasStackTrace, runCli, spawnCli } from '../helpers/cli.js';
import { daemon, FIXTURE, tcp, useWorkDirs } from '../helpers/e2e.js';
import { freePorts } from '../helpers/ports.js';
import { eventually } from '../helpers/processes.js';
import { writeFile } from '../helpers/tmp.js';

const workDir = useWorkDirs();

/** The files every bundle holds, in the byte order of their names (as the archive lists them). */
const BUNDLE_FILES = [
  'MANIFEST.sha256',
  'approvals.json',
  'bundle.json',
  'integrity.json',
  'journal-verify.txt',
  'journal.jsonl',
  'plan.json',
  'plan.yaml',
  'report.json',
  'report.junit.xml',
  'report.md',
  'rto.json',
  'run.log',
];

const ok = (...print: string[]) => ({
  run: [process.execPath, FIXTURE, '--exit', '0', ...print.flatMap((text) => ['--print', text])],
});

function writePlan(dir: string, body: Record<string, unknown>, file = 'plan.yaml'): string {
  return writeFile(dir, file, JSON.stringify({ version: 1, name: 'ev', ...body }, null, 2));
}

const cli = (dir: string, args: string[], env: Record<string, string> = {}) =>
  runCli([...args, '--state-dir', 'state'], { cwd: dir, env, timeoutMs: 60_000 });

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Runs `restore evidence` and returns the bundle's path (the one file it wrote in `out`). */
async function evidence(dir: string, args: string[] = [], env: Record<string, string> = {}): Promise<string> {
  const out = join(dir, `out-${Math.random().toString(16).slice(2)}`);
  mkdirSync(out);
  const result = await cli(dir, ['evidence', 'plan.yaml', '-o', out, ...args], env);
  expect(result.code, result.stderr).toBe(EXIT.ok);
  const [name, ...more] = readdirSync(out);
  expect(more).toEqual([]);
  expect(result.stdout).toContain(`${name}: ${BUNDLE_FILES.length} files, sha256 `);
  return join(out, name!);
}

/** Extracts a bundle with the system's tar; returns its top directory. */
function extract(bundle: string, into: string): string {
  mkdirSync(into, { recursive: true });
  execFileSync('tar', ['-xzf', bundle, '-C', into]);
  const [top] = readdirSync(into);
  return join(into, top!);
}

/** Packs a directory again with the system's tar, as someone who changed a file would. */
function repack(top: string, bundle: string): void {
  const parent = join(top, '..');
  execFileSync('tar', ['-czf', bundle, '-C', parent, top.slice(parent.length + 1)]);
}

const verify = (dir: string, bundle: string) => runCli(['evidence', 'verify', bundle], { cwd: dir });

function runsDir(dir: string, plan = 'ev'): string {
  return join(dir, 'state', plan, 'runs');
}

describe('SPEC 10: restore evidence writes one bundle of a run', () => {
  it('holds the plan, the journal and its verification, the log, the reports, approvals, integrity and RTO; sha256sum -c passes', async () => {
    const dir = workDir();
    const [port] = await freePorts(1);
    writeFile(dir, 'artifact.bin', 'release 1\n');
    const artifactSum = createHash('sha256').update('release 1\n').digest('hex');
    writePlan(dir, {
      stages: [{ name: 'core', approval: true }, { name: 'apps' }],
      services: {
        db: {
          stage: 'core',
          start: daemon('--listen', port!),
          health: tcp(port!),
          verify: [{ file: './artifact.bin', sha256: artifactSum }],
        },
        api: { stage: 'apps', depends_on: ['db'], start: ok('api up') },
      },
    });
    const applied = await cli(dir, ['apply', 'plan.yaml', '--yes', '--approver', 'alice']);
    expect(applied.code, applied.stderr).toBe(EXIT.ok);

    const bundle = await evidence(dir);
    const run = readdirSync(runsDir(dir))
      .find((name) => name.endsWith('.jsonl'))!
      .slice(0, -'.jsonl'.length);
    expect(bundle.endsWith(`restore-evidence-ev-${run}.tar.gz`)).toBe(true);

    // The archive as `tar` lists it: sorted, owner 0/0 without names, fixed modes, the run's time.
    const listing = execFileSync('tar', ['--numeric-owner', '-tvzf', bundle], { encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(listing.map((line) => line.split(/\s+/).at(-1))).toEqual([
      `restore-evidence-ev-${run}/`,
      ...BUNDLE_FILES.map((name) => `restore-evidence-ev-${run}/${name}`),
    ]);
    for (const line of listing) {
      const [mode, owner] = line.split(/\s+/);
      expect(owner).toBe('0/0');
      expect(mode === 'drwxr-xr-x' || mode === '-rw-r--r--', line).toBe(true);
    }
    // No user or group names either: tar shows the bare numbers without --numeric-owner too.
    for (const line of execFileSync('tar', ['-tvzf', bundle], { encoding: 'utf8' }).trim().split('\n'))
      expect(line.split(/\s+/)[1], line).toBe('0/0');
    // gzip's header holds no time (bytes 4 to 7, MTIME).
    expect(readFileSync(bundle).subarray(4, 8)).toEqual(Buffer.alloc(4));

    const top = extract(bundle, join(dir, 'x'));
    expect(readdirSync(top).sort()).toEqual([...BUNDLE_FILES].sort());
    const check = spawnSync('sha256sum', ['-c', 'MANIFEST.sha256'], { cwd: top, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout.trim().split('\n')).toHaveLength(BUNDLE_FILES.length - 1);

    const read = (name: string) => readFileSync(join(top, name), 'utf8');
    // The journal and the log as the run wrote them; the journal's verification as audit says it.
    expect(read('journal.jsonl')).toBe(readFileSync(join(runsDir(dir), `${run}.jsonl`), 'utf8'));
    expect(read('run.log')).toBe(readFileSync(join(runsDir(dir), `${run}.log`), 'utf8'));
    expect(read('journal-verify.txt')).toMatch(
      /^journal\.jsonl: \d+ lines, hash chain intact\nexit status 0\n$/,
    );
    // The plan file as applied, and the resolved plan with the digest `plan` prints.
    expect(read('plan.yaml')).toBe(readFileSync(join(dir, 'plan.yaml'), 'utf8'));
    const planJson = await runCli(['plan', 'plan.yaml', '--format', 'json'], { cwd: dir });
    expect(read('plan.json')).toBe(planJson.stdout);
    const digest = (JSON.parse(read('plan.json')) as { digest: string }).digest;
    const started = JSON.parse(read('journal.jsonl').split('\n')[0]!) as { digest: string };
    expect(digest).toBe(started.digest);
    // The reports, as `restore report` gives them.
    for (const [format, name] of [
      ['markdown', 'report.md'],
      ['json', 'report.json'],
      ['junit', 'report.junit.xml'],
    ] as const) {
      const report = await cli(dir, ['report', 'plan.yaml', '--format', format]);
      expect(read(name), name).toBe(report.stdout);
    }
    const approvals = JSON.parse(read('approvals.json')) as {
      journal: { event: string; stage: string; approver: string }[];
    };
    expect(approvals.journal).toMatchObject([{ event: 'stage.approved', stage: 'core', approver: 'alice' }]);
    const integrity = JSON.parse(read('integrity.json')) as {
      service: string;
      files: { sha256: string }[];
    }[];
    expect(integrity).toMatchObject([{ service: 'db', files: [{ sha256: artifactSum }] }]);
    // The plan sets no target: the table says so, and still gives the time spent waiting for approvals.
    expect(JSON.parse(read('rto.json'))).toMatchObject({
      plan: null,
      stages: {},
      services: {},
      missed: false,
    });
    expect(JSON.parse(read('rto.json')).approval_wait_ms).toBeGreaterThanOrEqual(0);
    const meta = JSON.parse(read('bundle.json')) as Record<string, string>;
    expect(meta).toMatchObject({
      plan: 'ev',
      run,
      state: 'succeeded',
      digest,
      plan_source: 'run-start-copy',
      node_version: process.version,
    });
    expect(meta.restore_version).toMatch(/^\d+\.\d+\.\d+/);

    const verified = await verify(dir, bundle);
    expect(verified.code, verified.stdout).toBe(EXIT.ok);
    expect(verified.stdout).toContain(`${BUNDLE_FILES.length} files match MANIFEST.sha256`);
    expect(verified.stdout).toContain('hash chain intact');
  });

  it('the same run always gives the same bytes, from any directory, after the plan file was edited', async () => {
    const dir = workDir();
    writePlan(dir, { services: { a: { start: ok('a up') }, b: { depends_on: ['a'], start: ok('b up') } } });
    const original = readFileSync(join(dir, 'plan.yaml'), 'utf8');
    expect((await cli(dir, ['apply', 'plan.yaml'])).code).toBe(EXIT.ok);
    const first = await evidence(dir);
    // Wait past a second boundary: nothing in the bundle may depend on when it was made.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    writePlan(dir, {
      description: 'edited after the run',
      services: { a: { start: ok('a up') }, b: { start: ok('b changed') } },
    });
    const second = await evidence(dir);
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    const third = await runCli(
      ['evidence', '../plan.yaml', '--state-dir', '../state', '-o', 'bundle.tar.gz'],
      { cwd: elsewhere, timeoutMs: 60_000 },
    );
    expect(third.code, third.stderr).toBe(EXIT.ok);
    expect(sha256(second)).toBe(sha256(first));
    expect(sha256(join(elsewhere, 'bundle.tar.gz'))).toBe(sha256(first));
    const top = extract(first, join(dir, 'x'));
    expect(readFileSync(join(top, 'plan.yaml'), 'utf8')).toBe(original);
  });

  it('keeps the plan as applied next to the journal (0600), and a resumed run keeps its first copy', async () => {
    const dir = workDir();
    writePlan(dir, { services: { a: { start: ok() }, b: { depends_on: ['a'], start: 'false' } } });
    const original = readFileSync(join(dir, 'plan.yaml'), 'utf8');
    expect((await cli(dir, ['apply', 'plan.yaml'])).code).toBe(EXIT.failed);
    const [run] = readdirSync(runsDir(dir))
      .filter((name) => name.endsWith('.jsonl'))
      .map((name) => name.slice(0, -'.jsonl'.length));
    for (const copy of [`${run}.plan.yaml`, `${run}.plan.json`]) {
      expect(statSync(join(runsDir(dir), copy)).mode & 0o777, copy).toBe(0o600);
    }
    expect(readFileSync(join(runsDir(dir), `${run}.plan.yaml`), 'utf8')).toBe(original);
    writePlan(dir, { services: { a: { start: ok() }, b: { depends_on: ['a'], start: ok() } } });
    const resumed = await cli(dir, ['apply', 'plan.yaml', '--resume', '--force']);
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    const top = extract(await evidence(dir), join(dir, 'x'));
    expect(readFileSync(join(top, 'plan.yaml'), 'utf8')).toBe(original);
    expect(JSON.parse(readFileSync(join(top, 'bundle.json'), 'utf8'))).toMatchObject({
      run,
      state: 'succeeded',
    });
  });

  it('bundles a run made before plans were kept from the plan file only while its digest is the run’s', async () => {
    const dir = workDir();
    writePlan(dir, { services: { a: { start: ok() } } });
    expect((await cli(dir, ['apply', 'plan.yaml'])).code).toBe(EXIT.ok);
    for (const name of readdirSync(runsDir(dir)))
      if (name.includes('.plan.')) rmSync(join(runsDir(dir), name));
    const top = extract(await evidence(dir), join(dir, 'x'));
    expect(JSON.parse(readFileSync(join(top, 'bundle.json'), 'utf8'))).toMatchObject({
      plan_source: 'plan-file',
    });
    writePlan(dir, { services: { a: { start: ok('changed') } } });
    const refused = await cli(dir, ['evidence', 'plan.yaml', '-o', 'b.tar.gz']);
    expect(refused.code).toBe(EXIT.invalid);
    expect(refused.stderr).toMatch(/has changed since/);
    expect(existsSync(join(dir, 'b.tar.gz'))).toBe(false);
  });

  it('writes the bundle of the run named by --run, by default in the working directory', async () => {
    const dir = workDir();
    writePlan(dir, { services: { a: { start: ok('first') } } });
    expect((await cli(dir, ['apply', 'plan.yaml'])).code).toBe(EXIT.ok);
    writePlan(dir, { services: { a: { start: ok('second') } } });
    expect((await cli(dir, ['apply', 'plan.yaml'])).code).toBe(EXIT.ok);
    const [older] = readdirSync(runsDir(dir))
      .filter((name) => name.endsWith('.jsonl'))
      .sort()
      .map((name) => name.slice(0, -'.jsonl'.length));
    const result = await cli(dir, ['evidence', 'plan.yaml', '--run', older!]);
    expect(result.code, result.stderr).toBe(EXIT.ok);
    const bundle = join(dir, `restore-evidence-ev-${older}.tar.gz`);
    const top = extract(bundle, join(dir, 'x'));
    expect(readFileSync(join(top, 'plan.yaml'), 'utf8')).toContain('first');
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it("holds the approvals restore approve left in the run's inbox, and the journal's record of them", async () => {
    const dir = workDir();
    writePlan(dir, {
      stages: [{ name: 'core', approval: true }],
      services: { a: { stage: 'core', start: ok() } },
    });
    expect((await cli(dir, ['apply', 'plan.yaml'])).code).toBe(EXIT.awaitingApproval);
    const given = await cli(dir, [
      'approve',
      'plan.yaml',
      '--stage',
      'core',
      '--as',
      'bob',
      '--comment',
      'db checked',
    ]);
    expect(given.code, given.stderr).toBe(EXIT.ok);
    expect((await cli(dir, ['apply', 'plan.yaml', '--resume'])).code).toBe(EXIT.ok);
    const top = extract(await evidence(dir), join(dir, 'x'));
    const approvals = JSON.parse(readFileSync(join(top, 'approvals.json'), 'utf8')) as unknown;
    expect(approvals).toMatchObject({
      journal: [
        { event: 'stage.approved', stage: 'core', approver: 'bob', via: 'approve', comment: 'db checked' },
      ],
      inbox: [
        {
          stage: 'core',
          approvals: [{ stage: 'core', approver: 'bob', comment: 'db checked', signature: null }],
          problems: [],
        },
      ],
    });
  });

  it('takes a plan file named verify when given as ./verify', async () => {
    const dir = workDir();
    writePlan(dir, { services: { a: { start: ok() } } }, 'verify');
    expect((await cli(dir, ['apply', './verify'])).code).toBe(EXIT.ok);
    const result = await cli(dir, ['evidence', './verify', '-o', 'v.tar.gz']);
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect((await verify(dir, join(dir, 'v.tar.gz'))).code).toBe(EXIT.ok);
  });
});

describe('SPEC 10: secrets never appear in a bundle', () => {
  it('a secret used in a command, its env and its output is in no extracted file, made with or without it set', async () => {
    const dir = workDir();
    const secret = 'pa55-w0rd-evidence-7781';
    writePlan(dir, {
      secrets: ['DB_PASSWORD'],
      description: `written out: ${secret}`,
      services: {
        db: {
          start: {
            run: [process.execPath, FIXTURE, '--exit', '0', '--print', 'password is ${DB_PASSWORD}'],
            env: { DB_URL: 'postgres://app:${DB_PASSWORD}@127.0.0.1/app' },
          },
        },
        api: {
          depends_on: ['db'],
          start: `${process.execPath} ${FIXTURE} --exit 1 --stderr "bad \${DB_PASSWORD}"`,
        },
      },
    });
    const env = { DB_PASSWORD: secret };
    expect((await cli(dir, ['apply', 'plan.yaml'], env)).code).toBe(EXIT.failed);
    const bundle = await evidence(dir, [], env);
    expect(readFileSync(bundle).includes(secret)).toBe(false);
    // Where the secret is not set (an auditor's machine), the plan is taken by its name: the
    // bundle is the same, since what it shows was redacted when the run wrote it.
    expect(sha256(await evidence(dir))).toBe(sha256(bundle));
    const top = extract(bundle, join(dir, 'x'));
    for (const name of readdirSync(top)) {
      const text = readFileSync(join(top, name), 'utf8');
      expect(text.includes(secret), `${name} shows the secret`).toBe(false);
    }
    // The output was there to leak: the log holds its redacted form.
    expect(readFileSync(join(top, 'run.log'), 'utf8')).toContain('password is [REDACTED]');
    expect(readFileSync(join(top, 'report.md'), 'utf8')).toContain('bad [REDACTED]');
    const grep = spawnSync('grep', ['-r', '-l', secret, top]);
    expect(grep.status).toBe(1);
  });
});

describe('SPEC 10: restore evidence verify names the first thing that does not match', () => {
  async function bundleOf(): Promise<{ dir: string; bundle: string; top: string }> {
    const dir = workDir();
    writePlan(dir, { services: { a: { start: ok('a up') }, b: { depends_on: ['a'], start: ok() } } });
    expect((await cli(dir, ['apply', 'plan.yaml'])).code).toBe(EXIT.ok);
    const bundle = await evidence(dir);
    return { dir, bundle, top: extract(bundle, join(dir, 'x')) };
  }

  async function expectRefused(dir: string, bundle: string, problem: RegExp): Promise<void> {
    const result = await verify(dir, bundle);
    expect(result.code, result.stdout + result.stderr).toBe(EXIT.invalid);
    expect(hasStackTrace(result.stderr)).toBe(false);
    expect(result.stdout).toMatch(problem);
  }

  it('one changed byte of a file: that file', async () => {
    const { dir, top } = await bundleOf();
    const file = join(top, 'report.md');
    const bytes = readFileSync(file);
    bytes[10] = bytes[10]! ^ 1;
    writeFileSync(file, bytes);
    const tampered = join(dir, 'tampered.tar.gz');
    repack(top, tampered);
    await expectRefused(dir, tampered, /DOES NOT VERIFY: report\.md: does not match MANIFEST\.sha256/);
    // The same as sha256sum says of it.
    expect(spawnSync('sha256sum', ['-c', 'MANIFEST.sha256'], { cwd: top }).status).toBe(1);
  });

  it('a file missing, a file added, a link, and a manifest missing', async () => {
    const { dir, top } = await bundleOf();
    rmSync(join(top, 'integrity.json'));
    const missing = join(dir, 'missing.tar.gz');
    repack(top, missing);
    await expectRefused(
      dir,
      missing,
      /integrity\.json: listed in MANIFEST\.sha256 but missing from the bundle/,
    );

    const { dir: dir2, top: top2 } = await bundleOf();
    writeFileSync(join(top2, 'extra.txt'), 'planted\n');
    const extra = join(dir2, 'extra.tar.gz');
    repack(top2, extra);
    await expectRefused(dir2, extra, /extra\.txt: in the bundle but not listed in MANIFEST\.sha256/);

    rmSync(join(top2, 'extra.txt'));
    symlinkSync('/etc/passwd', join(top2, 'link'));
    const linked = join(dir2, 'linked.tar.gz');
    repack(top2, linked);
    await expectRefused(dir2, linked, /link: not a plain file/);

    rmSync(join(top2, 'link'));
    rmSync(join(top2, 'MANIFEST.sha256'));
    const noManifest = join(dir2, 'no-manifest.tar.gz');
    repack(top2, noManifest);
    await expectRefused(dir2, noManifest, /MANIFEST\.sha256: missing from the bundle/);
  });

  it('a line appended to the journal: the file, and with the manifest made again, the line', async () => {
    const { dir, top } = await bundleOf();
    const journal = join(top, 'journal.jsonl');
    const lines = readFileSync(journal, 'utf8').trim().split('\n');
    const last = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    appendFileSync(
      journal,
      `${JSON.stringify({ ...last, seq: lines.length + 1, event: 'stage.approved', hash: '0'.repeat(64) })}\n`,
    );
    const appended = join(dir, 'appended.tar.gz');
    repack(top, appended);
    await expectRefused(dir, appended, /journal\.jsonl: does not match MANIFEST\.sha256/);

    const sums = execFileSync(
      'sha256sum',
      readdirSync(top)
        .filter((name) => name !== 'MANIFEST.sha256')
        .sort(),
      { cwd: top, encoding: 'utf8' },
    );
    writeFileSync(join(top, 'MANIFEST.sha256'), sums);
    const resealed = join(dir, 'resealed.tar.gz');
    repack(top, resealed);
    await expectRefused(
      dir,
      resealed,
      new RegExp(`journal\\.jsonl: chain broken at line ${lines.length + 1}`),
    );
  });

  it('a file that is not gzip, a truncated bundle, a gzip of no tar, a file that is not there', async () => {
    const { dir, bundle } = await bundleOf();
    const text = writeFile(dir, 'notes.tar.gz', 'just some text\n');
    await expectRefused(dir, text, /notes\.tar\.gz: DOES NOT VERIFY: not a gzip file/);
    const data = readFileSync(bundle);
    const cut = writeFile(dir, 'cut.tar.gz', data.subarray(0, Math.floor(data.length / 2)));
    await expectRefused(dir, cut, /cut\.tar\.gz: DOES NOT VERIFY: the gzip stream is cut short/);
    const noTar = join(dir, 'plain.gz');
    writeFileSync(join(dir, 'plain'), 'x'.repeat(2000));
    execFileSync('gzip', ['-n', join(dir, 'plain')]);
    await expectRefused(dir, noTar, /DOES NOT VERIFY: not a valid tar archive/);
    const absent = await verify(dir, join(dir, 'absent.tar.gz'));
    expect(absent.code).toBe(EXIT.usage);
    expect(absent.stderr).toMatch(/absent\.tar\.gz: no such file/);
  });
});

describe('SPEC 10: restore evidence refuses what it cannot bundle, and writes nothing', () => {
  it('no run yet, a run that does not exist, a bad run id', async () => {
    const dir = workDir();
    writePlan(dir, { services: { a: { start: ok() } } });
    const none = await cli(dir, ['evidence', 'plan.yaml']);
    expect(none.code).toBe(EXIT.usage);
    expect(none.stderr).toMatch(/no run of plan ev yet/);
    expect((await cli(dir, ['apply', 'plan.yaml'])).code).toBe(EXIT.ok);
    const missing = await cli(dir, ['evidence', 'plan.yaml', '--run', '20200101T000000000Z-deadbeef']);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toMatch(/no run 20200101T000000000Z-deadbeef of plan ev/);
    const bad = await cli(dir, ['evidence', 'plan.yaml', '--run', '../x']);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toMatch(/not a run id/);
    for (const result of [none, missing, bad]) expect(hasStackTrace(result.stderr)).toBe(false);
    expect(readdirSync(dir).filter((name) => name.includes('evidence'))).toEqual([]);
  });

  it('an output place that cannot be written: exit 2, nothing left behind', async () => {
    const dir = workDir();
    writePlan(dir, { services: { a: { start: ok() } } });
    expect((await cli(dir, ['apply', 'plan.yaml'])).code).toBe(EXIT.ok);
    writeFile(dir, 'a-file', 'in the way\n');
    const before = readdirSync(dir).sort();
    for (const output of ['a-file/bundle.tar.gz', 'no/such/dir/bundle.tar.gz', '-']) {
      const result = await cli(dir, ['evidence', 'plan.yaml', '-o', output]);
      expect(result.code, `${output}: ${result.stderr}`).toBe(EXIT.usage);
      expect(result.stderr.trim().split('\n').at(-1)).toMatch(/^restore: /);
      expect(hasStackTrace(result.stderr)).toBe(false);
    }
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  it('a disk that fills while the bundle is written: exit 74, one line, nothing left behind', async () => {
    const dir = workDir();
    // Output that does not compress (random base64) makes the bundle larger than the disk below.
    const noisy = `${JSON.stringify(process.execPath)} -e 'console.log(require("crypto").randomBytes(48000).toString("base64"))'`;
    writePlan(dir, { services: { a: { start: { run: noisy, shell: true } } } });
    expect((await cli(dir, ['apply', 'plan.yaml'])).code).toBe(EXIT.ok);
    const small = join(dir, 'small');
    mkdirSync(small);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k,mode=0700', 'tmpfs', small], {
      encoding: 'utf8',
    });
    expect(mounted.status, `mount: ${mounted.stderr}`).toBe(0);
    try {
      const full = await cli(dir, ['evidence', 'plan.yaml', '-o', join(small, 'bundle.tar.gz')]);
      expect(full.code, full.stderr).toBe(EXIT.ioError);
      const said = full.stderr
        .split('\n')
        .filter((line) => line.startsWith('restore: ') && !line.includes('state dir'));
      expect(said).toHaveLength(1);
      expect(said[0]).toMatch(/no space left on the device; nothing was written$/);
      expect(hasStackTrace(full.stderr)).toBe(false);
      // Neither the bundle nor its temp file is left on the full disk.
      expect(readdirSync(small)).toEqual([]);
    } finally {
      const unmounted = spawnSync('umount', [small], { encoding: 'utf8' });
      expect(unmounted.status, `umount: ${unmounted.stderr}`).toBe(0);
    }
  });

  it('a run still in progress: exit 5, nothing written', async () => {
    const dir = workDir();
    writePlan(dir, { services: { slow: { start: 'sleep 30' } } });
    const running = spawnCli(['apply', 'plan.yaml', '--state-dir', 'state'], { cwd: dir, timeoutMs: 60_000 });
    await eventually(
      () =>
        existsSync(join(dir, 'state', 'ev', 'lock')) &&
        existsSync(runsDir(dir)) &&
        readdirSync(runsDir(dir)).some((name) => name.endsWith('.jsonl')),
      'the apply to start its run',
      20_000,
    );
    const result = await cli(dir, ['evidence', 'plan.yaml', '-o', 'b.tar.gz']);
    running.child.kill('SIGINT');
    await running.done;
    expect(result.code, result.stderr).toBe(EXIT.locked);
    expect(result.stderr).toMatch(/still in progress/);
    expect(readdirSync(dir).filter((name) => name.endsWith('.tar.gz') || name.endsWith('.tmp'))).toEqual([]);
    // Once it has ended (interrupted), the run can be bundled.
    const after = await cli(dir, ['evidence', 'plan.yaml', '-o', 'b.tar.gz']);
    expect(after.code, after.stderr).toBe(EXIT.ok);
  });
});
