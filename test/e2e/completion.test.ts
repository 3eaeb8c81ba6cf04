import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { BIN, ROOT, runCli } from '../helpers/cli.js';
import { useTempDir, writeFile } from '../helpers/tmp.js';

const exec = promisify(execFile);

describe('restore completion', () => {
  const tempDir = useTempDir();

  /** Runs `script` in bash with the bash completion loaded and `restore` on PATH as a user has it. */
  async function inBash(script: string): Promise<string> {
    const dir = tempDir();
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    chmodSync(writeFile(bin, 'restore', `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`), 0o755);
    const { stdout } = await exec(
      'bash',
      ['--norc', '--noprofile', '-c', `source <(restore completion bash)\n${script}`],
      {
        cwd: ROOT,
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      },
    );
    return stdout;
  }

  /**
   * What the bash completion offers for each command line (its words, the last one being typed),
   * all asked in one bash.
   */
  async function complete(...lines: string[][]): Promise<string[][]> {
    const script = lines
      .map(
        (words) =>
          `COMP_WORDS=(restore ${words.map((word) => `'${word}'`).join(' ')}); COMP_CWORD=${words.length}; COMPREPLY=()\n` +
          `_restore_complete; printf '%s\\n' "\${COMPREPLY[@]}"; echo '--'`,
      )
      .join('\n');
    const stdout = await inBash(script);
    return stdout
      .split('--\n')
      .slice(0, lines.length)
      .map((block) => block.split('\n').filter(Boolean));
  }

  it('bash: the script registers a completion function for restore', async () => {
    expect(await inBash('complete -p restore')).toBe('complete -F _restore_complete restore\n');
  });

  it('bash: completes command names', async () => {
    const [all, app] = await complete([''], ['appl']);
    expect(all).toEqual(expect.arrayContaining(['validate', 'plan', 'apply', 'completion']));
    expect(all).not.toContain('__complete');
    expect(app).toEqual(['apply']);
  });

  it('bash: completes flags and the values of --format', async () => {
    expect(
      await complete(
        ['apply', '--con'],
        ['plan', 'plans/demo.yaml', '--format', 'm'],
        ['apply', 'plans/demo.yaml', '--on-failure', ''],
      ),
    ).toEqual([['--concurrency'], ['markdown', 'mermaid'], ['halt', 'rollback']]);
  });

  it('bash: completes service and stage names of the plan on the line, even an invalid one', async () => {
    const dir = tempDir();
    const broken = writeFile(dir, 'broken.yaml', 'version: 7\nservices:\n  alpha: {strat: x}\n  beta: {}\n');
    expect(
      await complete(
        ['apply', 'plans/demo.yaml', '--only', ''],
        ['apply', 'plans/demo.yaml', '--only', 'storage,'],
        ['apply', 'plans/demo.yaml', '--approve', ''],
        ['down', broken, '--only', ''],
        ['down', join(dir, 'missing.yaml'), '--only', ''],
      ),
    ).toEqual([
      ['api', 'queue', 'storage', 'web'],
      ['storage,api', 'storage,queue', 'storage,web'],
      ['data', 'apps'],
      ['alpha', 'beta'],
      [],
    ]);
  });

  it('bash: completes file names where a plan goes', async () => {
    const [files] = await complete(['validate', 'plans/dem']);
    expect(files).toEqual(expect.arrayContaining(['plans/demo', 'plans/demo.yaml']));
  });

  it.each([['zsh'], ['fish']])('prints a %s script that calls restore __complete', async (shell) => {
    const result = await runCli(['completion', shell]);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain('restore __complete --');
  });

  it('an unknown shell is a usage error', async () => {
    const result = await runCli(['completion', 'tcsh']);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toMatch(/tcsh/);
  });
});
