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
    const bin = join(tempDir(), 'bin');
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

  /** What the bash completion offers for the words of a command line, the last one being typed. */
  const complete = (...words: string[]) =>
    inBash(
      `COMP_WORDS=(restore ${words.map((word) => `'${word}'`).join(' ')}); COMP_CWORD=${words.length}\n` +
        `_restore_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ).then((stdout) => stdout.split('\n').filter(Boolean));

  it('bash: the script registers a completion function for restore', async () => {
    expect(await inBash('complete -p restore')).toBe('complete -F _restore_complete restore\n');
  });

  it('bash: completes command names', async () => {
    expect(await complete('')).toEqual(expect.arrayContaining(['validate', 'plan', 'apply', 'completion']));
    expect(await complete('ap')).toEqual(['apply']);
    expect(await complete('')).not.toContain('__complete');
  });

  it('bash: completes flags and the values of --format', async () => {
    expect(await complete('apply', '--con')).toEqual(['--concurrency']);
    expect(await complete('plan', 'plans/demo.yaml', '--format', 'm')).toEqual(['markdown', 'mermaid']);
    expect(await complete('apply', 'plans/demo.yaml', '--on-failure', '')).toEqual(['halt', 'rollback']);
  });

  it('bash: completes service and stage names of the plan on the line, even an invalid one', async () => {
    expect(await complete('apply', 'plans/demo.yaml', '--only', '')).toEqual([
      'api',
      'queue',
      'storage',
      'web',
    ]);
    expect(await complete('apply', 'plans/demo.yaml', '--only', 'storage,')).toEqual([
      'storage,api',
      'storage,queue',
      'storage,web',
    ]);
    expect(await complete('apply', 'plans/demo.yaml', '--approve', '')).toEqual(['data', 'apps']);
    const dir = tempDir();
    const broken = writeFile(dir, 'broken.yaml', 'version: 7\nservices:\n  alpha: {strat: x}\n  beta: {}\n');
    expect(await complete('down', broken, '--only', '')).toEqual(['alpha', 'beta']);
    expect(await complete('down', join(dir, 'missing.yaml'), '--only', '')).toEqual([]);
  });

  it('bash: completes file names where a plan goes', async () => {
    expect(await complete('validate', 'plans/dem')).toEqual(
      expect.arrayContaining(['plans/demo', 'plans/demo.yaml']),
    );
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
