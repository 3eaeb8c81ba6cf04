import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { execCheck } from '../../src/run/probes/exec.js';
import { isAlive, killAllWith } from '../helpers/processes.js';
import { specBuilders } from '../helpers/specs.js';
import { useTempDir } from '../helpers/tmp.js';

const OUTPUT = fileURLToPath(new URL('../fixtures/exec-output.mjs', import.meta.url));
const STUBBORN = fileURLToPath(new URL('../fixtures/exec-stubborn.mjs', import.meta.url));

const tempDir = useTempDir();
let dir = '';
const { spec, sh } = specBuilders(() => dir);
const output = (...args: string[]) => spec([process.execPath, OUTPUT, ...args]);

/** A string in the command line of every process a test starts, to find what is left of them. */
const marker = `restore-exec-check-${process.pid}`;
afterEach(() => killAllWith(marker));

describe('SPEC 2 health checks: exec', () => {
  it('passes when the command exits 0, naming the command as its target', async () => {
    dir = tempDir();
    const result = await execCheck(spec(['true', 'db host']), { timeoutMs: 1000 });
    expect(result).toMatchObject({ kind: 'exec', target: "true 'db host'", ok: true, detail: 'exit 0' });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(result.durationMs).toBeLessThan(1000);
  });

  it('fails on any other exit, with the last non-empty line of output', async () => {
    dir = tempDir();
    expect(
      await execCheck(output('out:checking', 'err:db is down', 'out:', 'out:   ', 'exit:2'), {
        timeoutMs: 5000,
      }),
    ).toMatchObject({ ok: false, detail: 'exit 2: db is down' });
    expect(
      await execCheck(output('out-tail:no newline at the end', 'exit:1'), { timeoutMs: 5000 }),
    ).toMatchObject({
      ok: false,
      detail: 'exit 1: no newline at the end',
    });
    expect(await execCheck(sh('exit 7'), { timeoutMs: 5000 })).toMatchObject({ ok: false, detail: 'exit 7' });
  });

  it('keeps its detail to one short line however much the command prints, marked where cut', async () => {
    dir = tempDir();
    const result = await execCheck(output('out:first', 'out-bytes:1048576', 'exit:1'), { timeoutMs: 5000 });
    expect(result.ok).toBe(false);
    expect(result.detail).toBe(`exit 1: ${'x'.repeat(200)}…`);
  });

  it('is cut at its timeout, and nothing it started survives', async () => {
    dir = tempDir();
    const pidFile = join(dir, 'child.pid');
    const result = await execCheck(sh(`sleep 100 & echo $! > ${pidFile}; sleep 100 # ${marker}`), {
      timeoutMs: 300,
    });
    expect(result).toMatchObject({ ok: false, detail: 'timed out after 300ms' });
    expect(result.durationMs).toBeLessThan(2500);
    expect(isAlive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
  });

  it("takes the shorter of the command's own timeout and the check's", async () => {
    dir = tempDir();
    expect(await execCheck(sh('sleep 100', { timeoutMs: 200 }), { timeoutMs: 5000 })).toMatchObject({
      ok: false,
      detail: 'timed out after 200ms',
    });
    expect(await execCheck(sh('sleep 100', { timeoutMs: 5000 }), { timeoutMs: 2000 })).toMatchObject({
      ok: false,
      detail: 'timed out after 2s',
    });
  });

  it('does not wait the full command grace for a check that ignores SIGTERM', async () => {
    dir = tempDir();
    const started = Date.now();
    const result = await execCheck(spec([process.execPath, STUBBORN, marker]), { timeoutMs: 300 });
    expect(result).toMatchObject({ ok: false, detail: 'timed out after 300ms' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('says in one line why a check could not run', async () => {
    dir = tempDir();
    expect(await execCheck(spec(['no-such-check-xyz']), { timeoutMs: 1000 })).toMatchObject({
      ok: false,
      detail: 'command not found: no-such-check-xyz',
    });
    const script = writeScript(dir, 'check.sh', 0o644);
    expect(await execCheck(spec([script]), { timeoutMs: 1000 })).toMatchObject({
      ok: false,
      detail: `permission denied: ${script}`,
    });
    expect(await execCheck(spec(['true'], { cwd: join(dir, 'gone') }), { timeoutMs: 1000 })).toMatchObject({
      ok: false,
      detail: `working directory ${join(dir, 'gone')} does not exist`,
    });
  });

  it('stops when the run is interrupted', async () => {
    dir = tempDir();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const result = await execCheck(sh(`sleep 100 # ${marker}`), {
      timeoutMs: 5000,
      signal: controller.signal,
    });
    expect(result).toMatchObject({ ok: false, detail: 'interrupted' });
    expect(result.durationMs).toBeLessThan(2000);
  });
});

function writeScript(where: string, name: string, mode: number): string {
  const path = join(where, name);
  writeFileSync(path, '#!/bin/sh\nexit 0\n', { mode });
  return path;
}
