import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { hasStackTrace, ROOT, runCli } from '../helpers/cli.js';
import { useTempDir, writeFile } from '../helpers/tmp.js';

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

describe('--help shows values as a person writes them', () => {
  it('defaults without JSON quotes, no default for repeatable options, choices bare, environment variables', async () => {
    const result = await runCli(['apply', '--help']);
    expect(result.code).toBe(EXIT.ok);
    const help = result.stdout.replace(/\s+/g, ' ');
    expect(help).toContain('(default: 4, env: RESTORE_CONCURRENCY)');
    expect(help).toContain('(choices: halt, rollback, default: halt, env: RESTORE_ON_FAILURE)');
    expect(help).toContain('env: RESTORE_LOG_FORMAT');
    expect(help).toContain('env: RESTORE_APPROVER');
    expect(help).toContain('env: RESTORE_VERBOSE');
    expect(help).not.toContain('"');
    expect(help).not.toContain('default: []');
  });
});

describe('RESTORE_* environment variables set what a team sets once', () => {
  const tempDir = useTempDir();
  const quickPlan = (dir: string) =>
    writeFile(
      dir,
      'plan.yaml',
      `version: 1\nname: env\nservices:\n  one:\n    start: ["${process.execPath}", "-e", "0"]\n`,
    );

  it('RESTORE_LOG_FORMAT=json makes apply print JSON lines, as --log-format json does', async () => {
    const dir = tempDir();
    const plan = quickPlan(dir);
    const result = await runCli(['apply', plan, '--state-dir', join(dir, 'state')], {
      env: { RESTORE_LOG_FORMAT: 'json' },
    });
    expect(result.code, result.stderr).toBe(EXIT.ok);
    const lines = result.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(result.stdout).toContain('"run.finished"');
  });

  it('a flag on the command line wins over the variable', async () => {
    const dir = tempDir();
    const plan = quickPlan(dir);
    const result = await runCli(
      ['apply', plan, '--state-dir', join(dir, 'state'), '--log-format', 'pretty'],
      {
        env: { RESTORE_LOG_FORMAT: 'json' },
      },
    );
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(result.stdout).not.toContain('"run.finished"');
  });

  it('a variable with a value the flag does not take is a usage error naming it', async () => {
    const dir = tempDir();
    const result = await runCli(['apply', quickPlan(dir), '--state-dir', join(dir, 'state')], {
      env: { RESTORE_LOG_FORMAT: 'xml' },
    });
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('RESTORE_LOG_FORMAT');
    expect(hasStackTrace(result.stderr)).toBe(false);
  });

  it('a number that is not one, from the variable or the flag, is a usage error naming where it came from', async () => {
    const dir = tempDir();
    const plan = quickPlan(dir);
    const fromEnv = await runCli(['apply', plan, '--state-dir', join(dir, 'state')], {
      env: { RESTORE_CONCURRENCY: 'many' },
    });
    expect(fromEnv.code).toBe(EXIT.usage);
    expect(fromEnv.stderr).toContain("value 'many' from env 'RESTORE_CONCURRENCY' is invalid");
    const fromFlag = await runCli(['apply', plan, '--state-dir', join(dir, 'state'), '--concurrency', '0']);
    expect(fromFlag.code).toBe(EXIT.usage);
    expect(fromFlag.stderr).toContain('--concurrency');
  });
});
