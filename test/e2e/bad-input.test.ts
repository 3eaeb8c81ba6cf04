import { closeSync, openSync, truncateSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeFindings, findingCount, fuzzCli } from '../../bench/fuzz-run.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { BIN, hasStackTrace, runCli } from '../helpers/cli.js';
import { useTempDir, writeFile } from '../helpers/tmp.js';

const tempDir = useTempDir();

interface JsonDiagnostic {
  file: string;
  line: number;
  column: number;
  code: string;
  message: string;
}

async function validateJson(name: string, content: string | Buffer, timeoutMs?: number) {
  const dir = tempDir();
  writeFile(dir, name, content);
  const result = await runCli(['validate', '--format', 'json', name], {
    cwd: dir,
    ...(timeoutMs ? { timeoutMs } : {}),
  });
  expect(hasStackTrace(result.stdout + result.stderr)).toBe(false);
  return { result, diagnostics: result.stdout ? (JSON.parse(result.stdout) as JsonDiagnostic[]) : [] };
}

const bomb = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'
    .split('')
    .map((name, i) => `${name}: &${name} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
].join('\n');

describe('Bad input: a clear diagnostic and the SPEC exit code, never a stack trace', () => {
  it.each([
    ['an empty file', '', 'invalid-type', 1, 1],
    ['a YAML list at top level', '- version: 1\n- name: x\n', 'invalid-type', 1, 1],
    ['a scalar at top level', 'just words\n', 'invalid-type', 1, 1],
    [
      'binary junk',
      Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0xff, 0xfe, 0x00]),
      'yaml-syntax',
      1,
      1,
    ],
    ['duplicate keys', 'version: 1\nname: a\nname: b\nservices: {a: {start: x}}\n', 'duplicate-key', 3, 1],
    ['tabs for indentation', 'version: 1\nname: a\nservices:\n\ta: {start: x}\n', 'yaml-syntax', 4, 1],
    [
      'names unsafe in file names',
      'version: 1\nname: ../../etc\nservices: {a: {start: x}}\n',
      'invalid-name',
      2,
      7,
    ],
  ])('%s', async (_label, content, code, line, column) => {
    const { result, diagnostics } = await validateJson('plan.yaml', content);
    expect(result.code).toBe(EXIT.invalid);
    expect(diagnostics[0]).toMatchObject({ file: 'plan.yaml', code, line, column });
  });

  it('a YAML alias bomb is refused with alias-limit in well under a second', async () => {
    const started = performance.now();
    const { result, diagnostics } = await validateJson('bomb.yaml', bomb);
    const elapsed = performance.now() - started;
    expect(result.code).toBe(EXIT.invalid);
    expect(diagnostics.map((d) => d.code)).toEqual(['alias-limit']);
    // Includes starting Node; the refusal itself takes milliseconds (see test/plan/validate.test.ts).
    expect(elapsed).toBeLessThan(5000);
  });

  it('a file over 10 MiB is refused with file-too-large without being read', async () => {
    const dir = tempDir();
    const path = writeFile(dir, 'huge.yaml', '');
    // A sparse file: 11 MiB that reading would take time and memory for.
    truncateSync(path, 11 * 1024 * 1024);
    const result = await runCli(['validate', '--format', 'json', 'huge.yaml'], { cwd: dir });
    expect(result.code).toBe(EXIT.invalid);
    expect(JSON.parse(result.stdout)).toMatchObject([{ code: 'file-too-large', line: 1, column: 1 }]);
  });

  it('a plan of exactly 10 MiB is read (the limit is "over 10 MiB")', async () => {
    const dir = tempDir();
    const path = writeFile(dir, 'big.yaml', '');
    const head = 'version: 1\nname: big\nservices: {a: {start: x}}\n';
    const fd = openSync(path, 'w');
    writeSync(fd, head);
    writeSync(fd, `#${'x'.repeat(10 * 1024 * 1024 - head.length - 2)}\n`);
    closeSync(fd);
    const result = await runCli(['validate', 'big.yaml'], { cwd: dir });
    expect(result.code).toBe(EXIT.ok);
  });

  it.each([
    [
      '10,000 nested flow sequences',
      `${'['.repeat(10_000)}x${']'.repeat(10_000)}`,
      'nests too deeply to be read',
    ],
    [
      '10,000 nested flow maps',
      `${'{a: '.repeat(10_000)}x${'}'.repeat(10_000)}`,
      'nests too deeply to be read',
    ],
    ['300 nested flow sequences', `${'['.repeat(300)}x${']'.repeat(300)}`, 'nests more than 64 levels deep'],
  ])('%s: one clear yaml-syntax diagnostic, no stack trace', async (_label, nested, message) => {
    // Reading 10,000 levels costs the parser seconds of CPU; on a loaded machine more than 20 s.
    const { result, diagnostics } = await validateJson(
      'deep.yaml',
      `version: 1\nname: a\nservices:\n  a:\n    start: x\n    env: ${nested}\n`,
      90_000,
    );
    expect(result.code).toBe(EXIT.invalid);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ code: 'yaml-syntax', line: 6 });
    expect(diagnostics[0]!.message).toContain(message);
    expect(diagnostics[0]!.message).not.toMatch(/call stack/i);
  });

  it('an unclosed bracket nested 10,000 deep is reported once, not once per level', async () => {
    const { result, diagnostics } = await validateJson(
      'open.yaml',
      `version: 1\nname: a\nservices:\n  a:\n    start: ${'['.repeat(10_000)}\n`,
    );
    expect(result.code).toBe(EXIT.invalid);
    const keys = diagnostics.map((d) => `${d.line}:${d.column}:${d.message}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('a 10 MiB single line is read in seconds, not minutes (valid plan, one huge command)', async () => {
    const dir = tempDir();
    const head = 'version: 1\nname: a\nservices:\n  a:\n    start: ';
    writeFile(dir, 'long.yaml', `${head}${'y'.repeat(10 * 1024 * 1024 - head.length - 1)}\n`);
    const started = performance.now();
    const result = await runCli(['validate', 'long.yaml'], { cwd: dir, timeoutMs: 20_000 });
    expect(result.code).toBe(EXIT.ok);
    // It took 11-13 s on a loaded 2-core machine when commands were split one character at a time.
    expect(performance.now() - started).toBeLessThan(8000);
  });

  it('an alias bomb inside a quoted value is only text: the plan is valid', async () => {
    const lines = 'a: &a [lol]\\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\\n'.repeat(200);
    const { result, diagnostics } = await validateJson(
      'quoted.yaml',
      `version: 1\nname: a\nservices: {a: {start: "echo ${lines}"}}\n`,
    );
    expect(diagnostics).toEqual([]);
    expect(result.code).toBe(EXIT.ok);
  });

  it('a list used as a key is an unknown key, without a Node warning on stderr', async () => {
    const dir = tempDir();
    writeFile(dir, 'key.yaml', 'version: 1\nname: a\nservices:\n  a:\n    start: x\n    ? [a, b]\n    : 1\n');
    const result = await runCli(['validate', 'key.yaml'], { cwd: dir });
    expect(result.code).toBe(EXIT.invalid);
    expect(result.stdout).toContain('unknown key "[ a, b ]"');
    expect(result.stderr).not.toMatch(/Warning/);
  });

  it('a directory passed as the plan is a usage error', async () => {
    const result = await runCli(['plan', tempDir()]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('is a directory, not a plan file');
    expect(hasStackTrace(result.stderr)).toBe(false);
  });

  it('output piped into a closed reader ends quietly', async () => {
    const { spawnSync } = await import('node:child_process');
    const result = spawnSync(
      'sh',
      ['-c', 'node bin/restore.js schema | head -c 10 >/dev/null; echo "exit=$?"'],
      {
        encoding: 'utf8',
      },
    );
    expect(result.stdout.trim()).toBe('exit=0');
    expect(hasStackTrace(result.stderr)).toBe(false);
  });
});

describe('fuzzing: generated and mutated plans through the real CLI (a seeded share)', () => {
  it('40 runs of validate and plan, text and json: no stack trace, exit 0/1/2, no hang, JSON only', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20_261_201);
    const figures = await fuzzCli({ seed, runs: 40, dir: tempDir(), node: process.execPath, bin: BIN });
    expect(findingCount(figures), `seed ${seed}\n${describeFindings(figures)}`).toBe(0);
    expect(figures.runs).toBe(40);
  }, 180_000);
});
