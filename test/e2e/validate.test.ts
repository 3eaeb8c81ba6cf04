import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { hasStackTrace, runCli } from '../helpers/cli.js';
import { useTempDir, writeFile } from '../helpers/tmp.js';

const tempDir = useTempDir();

const VALID = 'version: 1\nname: shop\nservices:\n  db:\n    start: "true"\n';
const INVALID =
  'version: 1\nname: shop\nservices:\n  db:\n    start: "true"\n    timeout: 5\n  api:\n    start: x\n    depends_on: [dbb]\n';

describe('SPEC 3 restore validate', () => {
  it('exits 0 for a valid plan', async () => {
    const plan = writeFile(tempDir(), 'ok.yaml', VALID);
    const result = await runCli(['validate', plan]);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('is valid');
  });

  it('text: file:line:col  error  code  message (hint), columns aligned', async () => {
    const dir = tempDir();
    const plan = writeFile(dir, 'bad.yaml', INVALID);
    const result = await runCli(['validate', 'bad.yaml'], { cwd: dir });
    expect(result.code).toBe(EXIT.invalid);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      'bad.yaml:6:14  error  invalid-duration    services.db.timeout: a duration needs a unit; a bare number (5) is ambiguous (did you mean "5s"?)',
      'bad.yaml:9:18  error  unknown-dependency  service "api" depends on "dbb", which is not a service of this plan (did you mean "db"?)',
    ]);
    expect(plan).toContain('bad.yaml');
  });

  it('json: the array shape of SPEC section 5, only JSON on stdout', async () => {
    const dir = tempDir();
    writeFile(dir, 'bad.yaml', INVALID);
    const result = await runCli(['validate', '--format', 'json', 'bad.yaml'], { cwd: dir });
    expect(result.code).toBe(EXIT.invalid);
    const parsed = JSON.parse(result.stdout) as unknown[];
    expect(parsed).toEqual([
      {
        file: 'bad.yaml',
        line: 6,
        column: 14,
        severity: 'error',
        code: 'invalid-duration',
        message: 'services.db.timeout: a duration needs a unit; a bare number (5) is ambiguous',
        hint: 'did you mean "5s"?',
      },
      {
        file: 'bad.yaml',
        line: 9,
        column: 18,
        severity: 'error',
        code: 'unknown-dependency',
        message: 'service "api" depends on "dbb", which is not a service of this plan',
        hint: 'did you mean "db"?',
      },
    ]);
  });

  it('json: an empty array when valid', async () => {
    const plan = writeFile(tempDir(), 'ok.yaml', VALID);
    const result = await runCli(['validate', '--format', 'json', plan]);
    expect(result.code).toBe(EXIT.ok);
    expect(JSON.parse(result.stdout)).toEqual([]);
  });

  it('github: one workflow annotation per problem', async () => {
    const dir = tempDir();
    writeFile(dir, 'bad.yaml', INVALID);
    const result = await runCli(['validate', '--format', 'github', 'bad.yaml'], { cwd: dir });
    expect(result.code).toBe(EXIT.invalid);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(
      '::error file=bad.yaml,line=6,col=14,title=restore invalid-duration::invalid-duration: services.db.timeout: ' +
        'a duration needs a unit; a bare number (5) is ambiguous (did you mean "5s"?)',
    );
    expect(lines[1]).toMatch(/^::error file=bad\.yaml,line=9,col=18,title=restore unknown-dependency::/);
  });

  it('checks every file given and exits 1 when any is invalid', async () => {
    const dir = tempDir();
    writeFile(dir, 'a.yaml', VALID);
    writeFile(dir, 'b.yaml', INVALID);
    writeFile(dir, 'c.yaml', VALID.replace('start: "true"', 'start: 5'));
    const result = await runCli(['validate', '--format', 'json', 'a.yaml', 'b.yaml', 'c.yaml'], { cwd: dir });
    expect(result.code).toBe(EXIT.invalid);
    const files = (JSON.parse(result.stdout) as { file: string }[]).map((d) => d.file);
    expect(new Set(files)).toEqual(new Set(['b.yaml', 'c.yaml']));
  });

  it('a missing file is a usage error (2), and the other files are still checked', async () => {
    const dir = tempDir();
    writeFile(dir, 'b.yaml', INVALID);
    const result = await runCli(['validate', 'missing.yaml', 'b.yaml'], { cwd: dir });
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('missing.yaml: no such file');
    expect(result.stdout).toContain('unknown-dependency');
  });

  it('a transposed-letter typo of a key gets a did-you-mean hint', async () => {
    const dir = tempDir();
    writeFile(
      dir,
      'typo.yaml',
      'version: 1\nname: shop\nservices:\n  db:\n    start: x\n    hsot: a\n    stpo: y\n',
    );
    const result = await runCli(['validate', 'typo.yaml'], { cwd: dir });
    expect(result.code).toBe(EXIT.invalid);
    expect(result.stdout).toContain('unknown key "hsot" (did you mean "host"?)');
    expect(result.stdout).toContain('unknown key "stpo" (did you mean "stop"?)');
  });

  // Opening a FIFO blocks until a writer comes: it must be refused from its stat, unopened.
  it.each([
    ['validate', []],
    ['plan', []],
    ['apply', ['--yes']],
  ])('a FIFO given to %s is refused at once as not a regular file (2)', async (command, extra) => {
    const dir = tempDir();
    execFileSync('mkfifo', [`${dir}/plan.yaml`]);
    const result = await runCli([command, 'plan.yaml', ...extra], { cwd: dir, timeoutMs: 5000 });
    expect(result.signal).toBeNull();
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('plan.yaml is not a regular file (a FIFO)');
    expect(hasStackTrace(result.stderr)).toBe(false);
  });

  it('a character device (/dev/stdin, /dev/zero) is refused as not a regular file (2)', async () => {
    const result = await runCli(['validate', '/dev/zero', '/dev/null'], { timeoutMs: 5000 });
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('/dev/zero is not a regular file (a character device)');
    expect(result.stderr).toContain('/dev/null is not a regular file (a character device)');
    // stdin of the child is a pipe: /dev/stdin leads to it.
    const stdin = await runCli(['validate', '/dev/stdin'], { input: VALID, timeoutMs: 5000 });
    expect(stdin.code).toBe(EXIT.usage);
    expect(stdin.stderr).toMatch(/\/dev\/stdin is not a regular file \(a (FIFO|character device|socket)\)/);
  });

  it('a symlink to a regular file is read; a dangling one is "no such file"', async () => {
    const dir = tempDir();
    writeFile(dir, 'real.yaml', VALID);
    symlinkSync('real.yaml', `${dir}/link.yaml`);
    symlinkSync('gone.yaml', `${dir}/dangling.yaml`);
    expect((await runCli(['validate', 'link.yaml'], { cwd: dir })).code).toBe(EXIT.ok);
    const dangling = await runCli(['validate', 'dangling.yaml'], { cwd: dir });
    expect(dangling.code).toBe(EXIT.usage);
    expect(dangling.stderr).toContain('dangling.yaml: no such file');
  });

  it('a directory is a usage error (2)', async () => {
    const dir = tempDir();
    mkdirSync(`${dir}/plans.yaml`);
    const result = await runCli(['validate', 'plans.yaml'], { cwd: dir });
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('is a directory');
    expect(hasStackTrace(result.stderr)).toBe(false);
  });

  it('an unreadable file is a usage error (2)', async () => {
    const plan = writeFile(tempDir(), 'secret.yaml', VALID);
    chmodSync(plan, 0o000);
    // root reads anything: drop the capabilities that let it, as an operator's account would lack them.
    const prefix =
      process.getuid?.() === 0 ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search'] : [];
    const result = await runCli(['validate', plan], { prefix });
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('permission denied');
    expect(hasStackTrace(result.stderr)).toBe(false);
  });
});
