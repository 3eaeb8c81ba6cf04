import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { useTempDir, writeFile } from '../helpers/tmp.js';

const PLAN = `version: 1
name: quoted
stages:
  - name: core
    approval: true
services:
  one:
    stage: core
    start: ["${process.execPath}", "-e", "0"]
`;

describe('commands restore suggests can be pasted: the plan path is quoted when it needs to be', () => {
  const tempDir = useTempDir();

  it('"Continue with" after a stop before an approval', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "ops team's plans"));
    writeFile(join(dir, "ops team's plans"), 'plan.yaml', PLAN);
    const result = await runCli(
      ['apply', "ops team's plans/plan.yaml", '--state-dir', join(dir, 'state dir')],
      { cwd: dir },
    );
    expect(result.code, result.stderr).toBe(EXIT.awaitingApproval);
    expect(result.stderr).toContain(
      `Continue with: restore apply 'ops team'"'"'s plans/plan.yaml' --resume --approve core --state-dir '${join(dir, 'state dir')}'`,
    );
  });

  it('"Apply with" in the markdown preview', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'my plans'));
    writeFile(join(dir, 'my plans'), 'plan.yaml', PLAN);
    const result = await runCli(['plan', 'my plans/plan.yaml', '--format', 'markdown'], { cwd: dir });
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(result.stdout).toMatch(
      /\*\*Apply with:\*\* `restore apply 'my plans\/plan\.yaml' --expect-digest sha256:[0-9a-f]{64}`/,
    );
  });
});
