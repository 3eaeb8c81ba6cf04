import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { type CliResult, hasStackTrace, runCli } from '../helpers/cli.js';
import { useWorkDirs } from '../helpers/e2e.js';
import { writeFile } from '../helpers/tmp.js';

const workDir = useWorkDirs();
const XSD = join(import.meta.dirname, '..', 'fixtures', 'junit', 'junit.xsd');

async function cli(dir: string, args: string[]): Promise<CliResult> {
  const result = await runCli(args, { cwd: dir, timeoutMs: 60_000 });
  expect(hasStackTrace(result.stdout + result.stderr), result.stderr).toBe(false);
  return result;
}

function writePlan(dir: string, plan: Record<string, unknown>): void {
  writeFile(dir, 'plan.yaml', JSON.stringify({ version: 1, name: 'rto', ...plan }));
}

/**
 * Targets met and missed with wide margins: `slow` sleeps 2 s against a target of 500 ms (and
 * takes its stage over 1 s with it); everything else has minutes to spare.
 */
const MIXED = {
  rto: '10m',
  stages: [
    { name: 'core', rto: '5m' },
    { name: 'apps', rto: '1s' },
  ],
  services: {
    db: { stage: 'core', start: 'true', rto: '1m' },
    slow: { stage: 'apps', depends_on: ['db'], start: 'sleep 2', rto: '500ms' },
    web: { stage: 'apps', depends_on: ['db'], start: 'true' },
  },
};

interface Rto {
  rto_ms: number;
  achieved_ms: number | null;
  met: boolean | null;
  approval_wait_ms?: number;
  note?: string;
}
interface WithRto {
  rto?: Rto;
  approval_wait_ms: number;
  stages: Record<string, { rto?: Rto; approval_wait_ms: number }>;
  services: Record<string, { rto?: Rto; result: string }>;
}

const json = async (dir: string, args: string[]): Promise<WithRto> =>
  JSON.parse((await cli(dir, [...args, '--format', 'json'])).stdout) as WithRto;

describe('SPEC 10 RTO targets: the plan', () => {
  it('a bad target is a validation error: a bare number, zero, and rto under defaults', async () => {
    const dir = workDir();
    writePlan(dir, {
      rto: 5,
      defaults: { rto: '5m' },
      stages: [{ name: 'core', rto: '0s' }],
      services: { db: { stage: 'core', start: 'true', rto: '1x' } },
    });
    const result = await cli(dir, ['validate', 'plan.yaml', '--format', 'json']);
    expect(result.code).toBe(EXIT.invalid);
    const found = (JSON.parse(result.stdout) as { code: string; message: string; hint?: string }[]).map(
      (d) => [d.code, d.message, d.hint],
    );
    expect(found).toContainEqual(['invalid-duration', expect.stringMatching(/^rto: /), 'did you mean "5s"?']);
    expect(found).toContainEqual([
      'invalid-duration',
      'stages[0].rto: must be greater than zero',
      'for example "1s"',
    ]);
    expect(found).toContainEqual([
      'invalid-duration',
      expect.stringMatching(/^services\.db\.rto: /),
      undefined,
    ]);
    expect(found).toContainEqual([
      'unknown-key',
      'defaults: unknown key "rto"',
      'set `rto` at the top level of the plan, on a stage or on a service; defaults cannot hold one',
    ]);
  });

  it('plan shows the targets in text, markdown and JSON, and the digest covers them', async () => {
    const dir = workDir();
    writePlan(dir, MIXED);
    const text = (await cli(dir, ['plan', 'plan.yaml'])).stdout;
    expect(text).toContain(
      "RTO 10m from the run's start to the last service healthy, approval waits included",
    );
    expect(text).toMatch(/Stage 2\/2: apps {2}\[RTO 1s\]/);
    expect(text).toMatch(/limits +deadline 10m, no retries, RTO 500ms/);
    const markdown = (await cli(dir, ['plan', 'plan.yaml', '--format', 'markdown'])).stdout;
    expect(markdown).toContain('- **Target:** RTO 10m');
    expect(markdown).toContain('## Stage 2: `apps` (RTO 1s)');
    const plan = JSON.parse((await cli(dir, ['plan', 'plan.yaml', '--format', 'json'])).stdout);
    expect(plan.rto_ms).toBe(600_000);
    expect(plan.stages.map((s: { rto_ms?: number }) => s.rto_ms)).toEqual([300_000, 1000]);
    const services = Object.fromEntries(
      plan.stages.flatMap((s: { services: { name: string; rto_ms?: number }[] }) =>
        s.services.map((service) => [service.name, service.rto_ms ?? null]),
      ),
    );
    expect(services).toEqual({ db: 60_000, slow: 500, web: null });
    writePlan(dir, { ...MIXED, rto: '11m' });
    const other = JSON.parse((await cli(dir, ['plan', 'plan.yaml', '--format', 'json'])).stdout);
    expect(other.digest).not.toBe(plan.digest);
  });
});

describe('SPEC 10 RTO targets: achieved, reported, enforced', () => {
  it('a missed target is reported but changes no exit code; --enforce-rto makes it exit 3', async () => {
    const dir = workDir();
    writePlan(dir, MIXED);
    const plain = await cli(dir, ['apply', 'plan.yaml']);
    expect(plain.code, plain.stderr).toBe(EXIT.ok);
    expect(plain.stderr).toMatch(/restore: RTO missed: service slow: \d+\.\ds against a target of 500ms/);
    expect(plain.stderr).toMatch(/restore: RTO missed: stage apps: \d+\.\ds against a target of 1s/);
    expect(plain.stderr).not.toContain('RTO missed: plan');
    const enforced = await cli(dir, ['apply', 'plan.yaml', '--enforce-rto']);
    expect(enforced.code, enforced.stderr).toBe(EXIT.failed);
    expect(enforced.stderr).toContain(
      'restore: every service is healthy, but a recovery time objective was missed (--enforce-rto)',
    );
  }, 90_000);

  it('--enforce-rto exits 0 when every target is met', async () => {
    const dir = workDir();
    writePlan(dir, {
      rto: '10m',
      services: { db: { start: 'true', rto: '5m' }, api: { depends_on: ['db'], start: 'true', rto: '5m' } },
    });
    const result = await cli(dir, ['apply', 'plan.yaml', '--enforce-rto']);
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(result.stderr).not.toContain('RTO missed');
    const status = await json(dir, ['status', 'plan.yaml']);
    expect(status.rto).toMatchObject({ rto_ms: 600_000, met: true, approval_wait_ms: 0 });
    expect(status.services.api!.rto).toMatchObject({ rto_ms: 300_000, met: true });
  }, 60_000);

  it('status and report JSON give rto: { rto_ms, achieved_ms, met } for the plan, each stage and service with a target', async () => {
    const dir = workDir();
    writePlan(dir, MIXED);
    expect((await cli(dir, ['apply', 'plan.yaml'])).code).toBe(EXIT.ok);
    for (const args of [
      ['status', 'plan.yaml'],
      ['report', 'plan.yaml'],
    ]) {
      const shown = await json(dir, args);
      const where = args[0]!;
      expect(Object.keys(shown.rto!).sort(), where).toEqual([
        'achieved_ms',
        'approval_wait_ms',
        'met',
        'rto_ms',
      ]);
      expect(shown.rto, where).toMatchObject({ rto_ms: 600_000, met: true, approval_wait_ms: 0 });
      expect(shown.rto!.achieved_ms, where).toBeGreaterThanOrEqual(2000);
      expect(shown.rto!.achieved_ms, where).toBeLessThan(600_000);
      expect(shown.stages.core!.rto, where).toMatchObject({ rto_ms: 300_000, met: true });
      expect(shown.stages.apps!.rto, where).toMatchObject({ rto_ms: 1000, met: false });
      expect(shown.stages.apps!.rto!.achieved_ms, where).toBeGreaterThanOrEqual(2000);
      expect(Object.keys(shown.services.slow!.rto!).sort(), where).toEqual(['achieved_ms', 'met', 'rto_ms']);
      expect(shown.services.slow!.rto, where).toMatchObject({ rto_ms: 500, met: false });
      expect(shown.services.slow!.rto!.achieved_ms, where).toBeGreaterThanOrEqual(2000);
      expect(shown.services.db!.rto, where).toMatchObject({ rto_ms: 60_000, met: true });
      expect(shown.services.web, where).not.toHaveProperty('rto');
    }
    const text = (await cli(dir, ['status', 'plan.yaml'])).stdout;
    expect(text).toMatch(/^RTO TARGET +RTO +ACHIEVED +MET$/m);
    expect(text).toMatch(/^plan rto +10m +\d+\.\ds +met$/m);
    expect(text).toMatch(/^service slow +500ms +\d+\.\ds +MISSED$/m);
  }, 60_000);

  it('a target edited after the run does not re-judge it: status and report read the targets the run applied', async () => {
    const dir = workDir();
    writePlan(dir, MIXED);
    expect((await cli(dir, ['apply', 'plan.yaml'])).code).toBe(EXIT.ok);
    // Loosened once the run had missed it: the run kept the plan it applied, and is judged by it.
    writePlan(dir, {
      ...MIXED,
      stages: [MIXED.stages[0], { name: 'apps', rto: '10m' }],
      services: { ...MIXED.services, slow: { ...MIXED.services.slow, rto: '10m' } },
    });
    for (const command of ['status', 'report']) {
      const shown = await json(dir, [command, 'plan.yaml']);
      expect(shown.services.slow!.rto, command).toMatchObject({ rto_ms: 500, met: false });
      expect(shown.stages.apps!.rto, command).toMatchObject({ rto_ms: 1000, met: false });
    }
  }, 60_000);

  it('a failed service misses its target with nothing achieved, and the plan with it', async () => {
    const dir = workDir();
    writePlan(dir, { rto: '10m', services: { db: { start: 'false', rto: '1m' } } });
    expect((await cli(dir, ['apply', 'plan.yaml', '--enforce-rto'])).code).toBe(EXIT.failed);
    const status = await json(dir, ['status', 'plan.yaml']);
    expect(status.services.db!.rto).toEqual({
      rto_ms: 60_000,
      achieved_ms: null,
      met: false,
      note: 'failed',
    });
    expect(status.rto).toMatchObject({ rto_ms: 600_000, achieved_ms: null, met: false });
  }, 60_000);

  it('report --format junit: a breach is a failure, the plan and stage targets are test cases of their own; it validates', async () => {
    const dir = workDir();
    writePlan(dir, MIXED);
    expect((await cli(dir, ['apply', 'plan.yaml'])).code).toBe(EXIT.ok);
    const junit = (await cli(dir, ['report', 'plan.yaml', '--format', 'junit'])).stdout;
    const file = writeFile(dir, 'report.xml', junit);
    execFileSync('xmllint', ['--noout', '--schema', XSD, file], { stdio: 'pipe' });
    expect(junit).toMatch(
      /<testcase classname="rto\.apps" name="slow"[^>]*>\s*<failure type="rto" message="RTO missed: service slow: \d+\.\ds against a target of 500ms">/,
    );
    expect(junit).toMatch(/<testcase classname="rto\.apps" name="web"[^>]*>\s*<system-out>healthy/);
    expect(junit).toMatch(/<testsuite name="rto\.rto" [^>]*tests="3" failures="1" errors="0" skipped="0"/);
    expect(junit).toMatch(
      /<testcase classname="rto\.rto" name="stage apps RTO 1s" time="\d+\.\d{3}">\s*<failure type="rto"/,
    );
    expect(junit).toMatch(/<testcase classname="rto\.rto" name="plan RTO 10m"[^>]*>\s*<system-out>met/);
    expect(junit).toMatch(/<testsuites name="restore rto" tests="6" failures="2" errors="0"/);
  }, 60_000);

  it('the markdown report puts the RTO table first, a breach in bold with ❌, and a red bar on the timeline', async () => {
    const dir = workDir();
    writePlan(dir, MIXED);
    expect((await cli(dir, ['apply', 'plan.yaml'])).code).toBe(EXIT.ok);
    const markdown = (await cli(dir, ['report', 'plan.yaml'])).stdout;
    const headings = markdown.split('\n').filter((line) => line.startsWith('## '));
    expect(headings[0]).toBe('## Recovery time objectives');
    expect(markdown.indexOf('| Target | RTO | Achieved | Met | Approval waits |')).toBeLessThan(
      markdown.indexOf('- **Run:**'),
    );
    expect(markdown).toMatch(
      /^\| \*\*service `slow`\*\* \| \*\*500ms\*\* \| \*\*\d+\.\ds\*\* \| \*\*❌ MISSED\*\* \| \*\*-\*\* \|$/m,
    );
    expect(markdown).toMatch(/^\| service `db` \| 1m \| \d+ms \| ✅ met \| - \|$/m);
    expect(markdown).toMatch(/^> \*\*RTO missed:\*\* `service slow: \d+\.\ds against a target of 500ms`/m);
    expect(markdown).toMatch(/^ {4}slow :crit, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}, /m);
    expect(markdown).toMatch(/^ {4}stage apps RTO 1s passed :milestone, crit, /m);
  }, 60_000);

  it('an approval wait counts in the plan time and is shown apart, not in the stage time', async () => {
    const dir = workDir();
    writePlan(dir, {
      rto: '10m',
      stages: [
        { name: 'core', rto: '1m' },
        { name: 'apps', approval: true, rto: '1m' },
      ],
      services: {
        db: { stage: 'core', start: 'true' },
        api: { stage: 'apps', depends_on: ['db'], start: 'true' },
      },
    });
    expect((await cli(dir, ['apply', 'plan.yaml'])).code).toBe(EXIT.awaitingApproval);
    const waiting = await json(dir, ['status', 'plan.yaml']);
    // Stopped at the gate: not reached, but still in time.
    expect(waiting.rto).toMatchObject({
      achieved_ms: null,
      met: null,
      note: 'waiting for approval of stage apps',
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const resumed = await cli(dir, ['apply', 'plan.yaml', '--resume', '--approve', 'apps', '--enforce-rto']);
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    const status = await json(dir, ['status', 'plan.yaml']);
    expect(status.approval_wait_ms).toBeGreaterThanOrEqual(1500);
    expect(status.stages.apps!.approval_wait_ms).toBe(status.approval_wait_ms);
    expect(status.stages.core!.approval_wait_ms).toBe(0);
    expect(status.rto!.approval_wait_ms).toBe(status.approval_wait_ms);
    expect(status.rto!.achieved_ms).toBeGreaterThanOrEqual(status.approval_wait_ms);
    expect(status.stages.apps!.rto!.achieved_ms).toBeLessThan(1500);
    expect(status.stages.apps!.rto).toMatchObject({ met: true, approval_wait_ms: status.approval_wait_ms });
    const markdown = (await cli(dir, ['report', 'plan.yaml'])).stdout;
    expect(markdown).toMatch(/^\| stage `apps` \| 1m \| \d+ms \| ✅ met \| \d\.\ds \|$/m);
    expect(markdown).toMatch(
      /approval waits \(\d\.\ds in all\) count in the plan's time and are shown apart/,
    );
    expect(markdown).toMatch(/^ {2}section approvals\n {4}approval of apps \d\.\ds :active, \d{4}-/m);
    const text = (await cli(dir, ['status', 'plan.yaml'])).stdout;
    expect(text).toMatch(/^approval waits: \d\.\ds \(counted in the plan's time\)$/m);
  }, 90_000);
});
