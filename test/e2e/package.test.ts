import { execFile } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { ROOT } from '../helpers/cli.js';
import { useWorkDirs } from '../helpers/e2e.js';
import { freePorts } from '../helpers/ports.js';

const exec = promisify(execFile);
const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
};

/** Runs a command; resolves with its exit code and output whatever the code (never rejects on exit). */
async function run(
  file: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(file, args, {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('the npm package, installed as a user would', () => {
  const workDir = useWorkDirs();

  it('packs, installs without dev dependencies, and runs the demo plan from the installed command', async () => {
    const dir = workDir();
    // The bundle is built already (e2e tests run it); --ignore-scripts keeps prepack from
    // rebuilding dist/ under the other test files running at the same time.
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: ROOT,
    });
    expect(packed.code, packed.stderr).toBe(0);
    const [tarball] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    const shipped = tarball!.files.map((file) => file.path);
    expect(shipped).toEqual(
      expect.arrayContaining([
        'bin/restore.js',
        'dist/bundle/main.js',
        'plans/schema.json',
        'LICENSE',
        'README.md',
      ]),
    );
    expect(shipped.filter((path) => /^(src|test|bench)\//.test(path))).toEqual([]);

    const prefix = join(dir, 'prefix');
    const installed = await run(
      'npm',
      [
        'install',
        '--prefix',
        prefix,
        '--omit=dev',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        join(dir, tarball!.filename),
      ],
      { cwd: dir },
    );
    expect(installed.code, installed.stderr).toBe(0);
    // Only what runs is downloaded: the bundled packages are not installed.
    const modules = readdirSync(join(prefix, 'node_modules'));
    // A scoped package (`@grpc/grpc-js`) sits in its scope's directory.
    for (const name of Object.keys(pkg.dependencies))
      expect(existsSync(join(prefix, 'node_modules', name)), name).toBe(true);
    for (const bundled of ['zod', 'js-yaml', 'shlex', 'log-update', 'esbuild'])
      expect(modules).not.toContain(bundled);

    const restore = join(prefix, 'node_modules', '.bin', 'restore');
    const version = await run(restore, ['--version'], { cwd: dir });
    expect(version).toMatchObject({ code: EXIT.ok, stdout: `${pkg.version}\n` });

    // The demo plan, away from the repository, on ports nobody else uses.
    const plans = join(dir, 'plans');
    cpSync(`${ROOT}/plans/demo.yaml`, join(plans, 'demo.yaml'));
    cpSync(`${ROOT}/plans/demo`, join(plans, 'demo'), { recursive: true });
    const [storage, queue, api, web] = (await freePorts(4)).map(String);
    const env = {
      DEMO_STORAGE_PORT: storage!,
      DEMO_QUEUE_PORT: queue!,
      DEMO_API_PORT: api!,
      DEMO_WEB_PORT: web!,
    };
    const validated = await run(restore, ['validate', 'plans/demo.yaml'], { cwd: dir, env });
    expect(validated.code, validated.stderr).toBe(EXIT.ok);

    const stateDir = join(dir, 'state');
    const first = await run(restore, ['apply', 'plans/demo.yaml', '--yes', '--state-dir', stateDir], {
      cwd: dir,
      env,
    });
    // The demo's outage: storage comes back without the API's schema, so the API fails.
    expect(first.code, first.stderr + first.stdout).toBe(EXIT.failed);
    expect(`${first.stdout}${first.stderr}`).toContain('storage has no schema');
    const migrated = await run(process.execPath, [join(plans, 'demo', 'migrate.mjs')], { cwd: dir, env });
    expect(migrated.code, migrated.stderr).toBe(0);
    const resumed = await run(restore, ['apply', 'plans/demo.yaml', '--resume', '--state-dir', stateDir], {
      cwd: dir,
      env,
    });
    expect(resumed.code, resumed.stderr + resumed.stdout).toBe(EXIT.ok);
    const down = await run(restore, ['down', 'plans/demo.yaml', '--yes', '--state-dir', stateDir], {
      cwd: dir,
      env,
    });
    expect(down.code, down.stderr).toBe(EXIT.ok);
    expect(existsSync(join(stateDir, 'demo'))).toBe(true);
  }, 90_000);
});
