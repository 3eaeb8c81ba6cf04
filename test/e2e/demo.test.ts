import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../helpers/cli.js';
import { useWorkDirs } from '../helpers/e2e.js';
import { freePorts } from '../helpers/ports.js';

const exec = promisify(execFile);

describe('npm run demo', () => {
  const workDir = useWorkDirs();

  it('shows an approval, a failure that blocks its dependent, the fix, --resume finishing the run, and the report; plain headers when piped', async () => {
    // The demo as a user runs it, in a copy of the repository's demo files (its state stays there).
    const dir = workDir();
    for (const name of ['bin', 'dist', 'node_modules']) symlinkSync(join(ROOT, name), join(dir, name));
    mkdirSync(join(dir, 'scripts'));
    cpSync(join(ROOT, 'scripts', 'demo.mjs'), join(dir, 'scripts', 'demo.mjs'));
    cpSync(join(ROOT, 'plans'), join(dir, 'plans'), { recursive: true });
    const [storage, queue, api, web] = (await freePorts(4)).map(String);
    const started = Date.now();
    const { stdout, stderr } = await exec(process.execPath, ['scripts/demo.mjs'], {
      cwd: dir,
      env: {
        ...process.env,
        NO_COLOR: undefined,
        FORCE_COLOR: undefined,
        DEMO_STORAGE_PORT: storage,
        DEMO_QUEUE_PORT: queue,
        DEMO_API_PORT: api,
        DEMO_WEB_PORT: web,
      },
      timeout: 60_000,
    });
    expect(Date.now() - started).toBeLessThan(60_000);
    const output = stdout + stderr;
    expect(stdout).not.toContain('\u001b');
    // Each step in the demo's output (stdout and stderr are separate pipes here, so no order across them).
    const expected = [
      '== restore check plans/demo.yaml\n',
      '0 errors, 0 warnings',
      '== restore apply plans/demo.yaml\n',
      'stopped before stage "data", which needs approval',
      '== restore apply plans/demo.yaml --resume --approve data',
      'storage has no schema',
      'blocked',
      '== node plans/demo/migrate.mjs',
      '== restore apply plans/demo.yaml --resume',
      '4 of 4 services healthy',
      'The shop is back',
      '# Restoration report',
      '4 of 4 services stopped',
    ];
    expect(expected.filter((text) => !output.includes(text))).toEqual([]);
  }, 90_000);
});

describe('the demo plan verifies its release (SPEC 7)', () => {
  const workDir = useWorkDirs();

  it('a program changed after its release stops the restore before anything starts: exit 3, the file and both digests named', async () => {
    const dir = workDir();
    cpSync(join(ROOT, 'plans', 'demo.yaml'), join(dir, 'demo.yaml'));
    cpSync(join(ROOT, 'plans', 'demo'), join(dir, 'demo'), { recursive: true });
    appendFileSync(join(dir, 'demo', 'api.mjs'), '\n// a line an attacker added\n');
    const ports = (await freePorts(4)).map(String);
    const env = Object.fromEntries(
      ['STORAGE', 'QUEUE', 'API', 'WEB'].map((name, i) => [`DEMO_${name}_PORT`, ports[i]]),
    );
    const result = await runCli(['apply', 'demo.yaml', '--yes', '--state-dir', join(dir, 'state')], {
      cwd: dir,
      env,
      timeoutMs: 60_000,
    });
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(
      /FAILED {2}integrity check failed: demo\/api\.mjs \(listed in demo\/SHA256SUMS\) does not match: expected sha256 [0-9a-f]{64}, actual [0-9a-f]{64}/,
    );
    expect(result.stdout).not.toContain('starting');
  }, 60_000);
});
