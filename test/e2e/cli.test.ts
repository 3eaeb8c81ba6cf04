import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { hasStackTrace, ROOT, runCli } from '../helpers/cli.js';

const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string };

describe('SPEC 3 Global flags', () => {
  it('--version prints the package version and exits 0', async () => {
    const result = await runCli(['--version']);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout.trim()).toBe(pkg.version);
  });

  it('--help lists every command', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(EXIT.ok);
    for (const command of ['validate', 'plan', 'schema']) expect(result.stdout).toContain(command);
  });

  it.each([['validate'], ['plan'], ['schema']])('%s --help shows the command usage', async (command) => {
    const result = await runCli([command, '--help']);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain(`Usage: restore ${command}`);
  });

  it('help <command> works like <command> --help', async () => {
    const result = await runCli(['help', 'plan']);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain('Usage: restore plan');
  });
});

describe('SPEC 3 Exit codes: usage errors exit 2 with a clear message', () => {
  it('no command at all prints usage on stderr', async () => {
    const result = await runCli([]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('Usage: restore');
  });

  it('an unknown command suggests the closest one', async () => {
    const result = await runCli(['valdate', 'x.yaml']);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain("unknown command 'valdate'");
    expect(result.stderr).toContain('validate');
    expect(hasStackTrace(result.stderr)).toBe(false);
  });

  it('an unknown flag', async () => {
    const result = await runCli(['validate', '--strict', 'x.yaml']);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain("unknown option '--strict'");
  });

  it('an unknown format', async () => {
    const result = await runCli(['validate', '--format', 'xml', 'plans/demo.yaml']);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toMatch(/xml.*invalid|invalid.*xml/i);
  });

  it('a missing argument', async () => {
    const result = await runCli(['plan']);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain("missing required argument 'plan'");
  });

  it('an extra argument', async () => {
    const result = await runCli(['plan', 'a.yaml', 'b.yaml']);
    expect(result.code).toBe(EXIT.usage);
  });
});
