import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { hasStackTrace, ROOT, runCli } from '../helpers/cli.js';
import { useTempDir, writeFile } from '../helpers/tmp.js';

const demo = readFileSync(`${ROOT}/plans/demo.yaml`, 'utf8');

describe('validate in CI: quoted glob patterns, annotations for files not read', () => {
  const tempDir = useTempDir();

  it("expands a quoted pattern itself ('plans/**/*.yaml'), every matching file checked", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'plans', 'team'), { recursive: true });
    writeFile(join(dir, 'plans'), 'a.yaml', 'version: 1\nname: a\nservices:\n  x: {start: x}\n');
    writeFile(join(dir, 'plans', 'team'), 'b.yaml', 'version: 1\nname: b\nservices:\n  x: {strat: x}\n');
    writeFile(join(dir, 'plans'), 'notes.txt', 'not a plan');
    const result = await runCli(['validate', 'plans/**/*.yaml', '--format', 'json'], { cwd: dir });
    expect(result.code).toBe(EXIT.invalid);
    const diagnostics = JSON.parse(result.stdout) as { file: string; code: string }[];
    expect(diagnostics.map((d) => [d.file, d.code])).toEqual([['plans/team/b.yaml', 'unknown-key']]);

    const valid = await runCli(['validate', join(dir, 'plans', '*.yaml')]);
    expect(valid.code, valid.stderr).toBe(EXIT.ok);
    expect(valid.stderr).toContain(`${join(dir, 'plans', 'a.yaml')} is valid`);
  });

  it('a pattern that matches nothing is a usage error (2) with a message', async () => {
    const dir = tempDir();
    const result = await runCli(['validate', 'plans/*.yaml'], { cwd: dir });
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('no file matches plans/*.yaml');
    expect(hasStackTrace(result.stderr)).toBe(false);
  });

  it('a file named like a pattern is read as it is', async () => {
    const dir = tempDir();
    writeFile(dir, '[prod].yaml', demo.replace('./schema.json', 'schema.json'));
    const result = await runCli(['validate', '[prod].yaml'], { cwd: dir });
    expect(result.stderr).toContain('[prod].yaml is valid');
    expect(result.code).toBe(EXIT.ok);
  });

  it('--format github annotates a file that cannot be read, and a pattern that matches nothing', async () => {
    const dir = tempDir();
    const result = await runCli(['validate', 'missing.yaml', 'none/*.yaml', '--format', 'github'], {
      cwd: dir,
    });
    expect(result.code).toBe(EXIT.usage);
    expect(result.stdout).toMatch(
      /^::error file=missing\.yaml,title=restore unreadable file::missing\.yaml: no such file$/m,
    );
    expect(result.stdout).toMatch(/^::error file=none\/\*\.yaml,.*::no file matches none\/\*\.yaml$/m);
  });
});
