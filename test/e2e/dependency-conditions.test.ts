import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { hasStackTrace, runCli } from '../helpers/cli.js';
import { daemon, FIXTURE, tcp, useWorkDirs } from '../helpers/e2e.js';
import { freePorts } from '../helpers/ports.js';
import { writeFile } from '../helpers/tmp.js';

/**
 * SPEC section 11, dependency conditions and stage failure budgets, through the real CLI with real
 * processes: the order things started in is read back from the run's journal.
 */
const workDir = useWorkDirs();

/** Several real runs of the CLI per test, on a machine that may be busy: time enough for all. */
const SLOW = { timeout: 180_000 };

function plan(dir: string, body: Record<string, unknown>): string {
  return writeFile(dir, 'plan.yaml', JSON.stringify({ version: 1, name: 'deps', ...body }, null, 2));
}

/** A one-shot start command of the fixture: exits with `code` (after `delayMs`). */
const oneShot = (code: number, delayMs = 0) => ({
  run: [process.execPath, FIXTURE, '--delay', String(delayMs), '--exit', String(code)],
});

async function apply(dir: string) {
  const result = await runCli(['apply', 'plan.yaml', '--state-dir', join(dir, 'state')], {
    cwd: dir,
    timeoutMs: 90_000,
  });
  expect(hasStackTrace(result.stdout + result.stderr), result.stderr).toBe(false);
  return result;
}

interface Line {
  event: string;
  time: string;
  service?: string;
  stage?: string;
  cause?: string;
  dependency?: string | null;
  message?: string;
  result?: string;
  services?: Record<string, { result: string }>;
}

function journal(dir: string): Line[] {
  const runs = join(dir, 'state', 'deps', 'runs');
  const file = readdirSync(runs).find((name) => name.endsWith('.jsonl'))!;
  return readFileSync(join(runs, file), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Line);
}

/** The journal's position of the first `event` of `service` (lines are in the order things happened). */
const seqOf = (lines: Line[], event: string, service?: string) =>
  lines.findIndex((l) => l.event === event && (service === undefined || l.service === service));

const resultsOf = (lines: Line[]) =>
  Object.fromEntries(
    Object.entries(lines.find((l) => l.event === 'run.finished')!.services!).map(([k, v]) => [k, v.result]),
  );

describe('SPEC 11 depends_on conditions', () => {
  it(
    '`condition: started` lets the dependent start once the dependency is spawned, before it is healthy',
    SLOW,
    async () => {
      const dir = workDir();
      const [db, api] = await freePorts(2);
      plan(dir, {
        services: {
          // Spawned at once, but its check passes only after 1.5 s.
          db: { start: daemon('--delay', 1500, '--listen', db!), health: tcp(db!) },
          api: {
            depends_on: [{ service: 'db', condition: 'started' }],
            start: daemon('--listen', api!),
            health: tcp(api!),
          },
        },
      });
      const result = await apply(dir);
      expect(result.code, result.stdout + result.stderr).toBe(EXIT.ok);
      const lines = journal(dir);
      const apiStarting = seqOf(lines, 'service.starting', 'api');
      expect(apiStarting).toBeGreaterThan(seqOf(lines, 'service.attempt', 'db'));
      expect(apiStarting).toBeLessThan(seqOf(lines, 'service.healthy', 'db'));
      const at = (index: number) => Date.parse(lines[index]!.time);
      expect(at(seqOf(lines, 'service.healthy', 'db')) - at(apiStarting)).toBeGreaterThan(500);
    },
  );

  it('a plain name still waits until the dependency is healthy', SLOW, async () => {
    const dir = workDir();
    const [db, api] = await freePorts(2);
    plan(dir, {
      services: {
        db: { start: daemon('--delay', 800, '--listen', db!), health: tcp(db!) },
        api: { depends_on: [{ service: 'db' }], start: daemon('--listen', api!), health: tcp(api!) },
      },
    });
    expect((await apply(dir)).code).toBe(EXIT.ok);
    const lines = journal(dir);
    expect(seqOf(lines, 'service.starting', 'api')).toBeGreaterThan(seqOf(lines, 'service.healthy', 'db'));
  });

  it(
    '`required: false`: the dependent starts though the dependency failed or is blocked, with a warning; exit 3',
    SLOW,
    async () => {
      const dir = workDir();
      plan(dir, {
        services: {
          // Not critical: a critical failure would halt the run, optional dependency or not.
          cache: { critical: false, start: oneShot(1) },
          feed: { critical: false, depends_on: ['cache'], start: oneShot(0) },
          api: {
            depends_on: [
              { service: 'cache', required: false },
              { service: 'feed', required: false },
            ],
            start: oneShot(0),
          },
        },
      });
      const result = await apply(dir);
      expect(result.code, result.stdout + result.stderr).toBe(EXIT.failed);
      const lines = journal(dir);
      expect(resultsOf(lines)).toEqual({ cache: 'failed', feed: 'blocked', api: 'healthy' });
      const warnings = lines.filter((l) => l.event === 'service.warning');
      expect(warnings.map((w) => [w.service, w.cause, w.dependency])).toEqual([
        ['api', 'optional-dependency-failed', 'cache'],
        ['api', 'optional-dependency-blocked', 'feed'],
      ]);
      expect(seqOf(lines, 'service.warning', 'api')).toBeLessThan(seqOf(lines, 'service.starting', 'api'));
      expect(result.stdout).toMatch(/api\s+warning\s+starts although its optional dependency cache failed/);
      const report = await runCli(['report', 'plan.yaml', '--state-dir', join(dir, 'state')], {
        cwd: dir,
        timeoutMs: 90_000,
      });
      expect(report.code, report.stderr).toBe(EXIT.ok);
      expect(report.stdout).toMatch(
        /## Warnings\n\n- .* `api`: `starts although its optional dependency cache failed/,
      );
    },
  );

  it('`required: true` (the default) still blocks the dependent of a failed dependency', SLOW, async () => {
    const dir = workDir();
    plan(dir, {
      services: {
        cache: { critical: false, start: oneShot(1) },
        api: { depends_on: [{ service: 'cache', condition: 'started' }], start: oneShot(0) },
      },
    });
    const result = await apply(dir);
    expect(result.code).toBe(EXIT.failed);
    const lines = journal(dir);
    expect(resultsOf(lines)).toEqual({ cache: 'failed', api: 'blocked' });
    expect(seqOf(lines, 'service.starting', 'api')).toBe(-1);
    expect(lines.some((l) => l.event === 'service.warning')).toBe(false);
  });

  it(
    'across declared stages the barrier holds for `started`: the dependent waits for the stage to finish',
    SLOW,
    async () => {
      const dir = workDir();
      const [db] = await freePorts(1);
      plan(dir, {
        stages: [{ name: 'data' }, { name: 'apps' }],
        services: {
          db: { stage: 'data', start: daemon('--delay', 800, '--listen', db!), health: tcp(db!) },
          api: { stage: 'apps', depends_on: [{ service: 'db', condition: 'started' }], start: oneShot(0) },
        },
      });
      expect((await apply(dir)).code).toBe(EXIT.ok);
      const lines = journal(dir);
      const finished = lines.findIndex((l) => l.event === 'stage.finished' && l.stage === 'data');
      expect(seqOf(lines, 'service.healthy', 'db')).toBeLessThan(finished);
      expect(seqOf(lines, 'service.starting', 'api')).toBeGreaterThan(finished);
    },
  );
});

describe('SPEC 11 stage max_failures', () => {
  /** Stage `one` with the failing and passing one-shots given, then stage `two` with one service. */
  const budgetPlan = (dir: string, maxFailures: number | string, failing: number, passing: number) => {
    const services: Record<string, unknown> = {};
    for (let i = 1; i <= failing; i++) services[`bad${i}`] = { stage: 'one', start: oneShot(1) };
    for (let i = 1; i <= passing; i++) services[`good${i}`] = { stage: 'one', start: oneShot(0) };
    services.later = { stage: 'two', start: oneShot(0) };
    plan(dir, { stages: [{ name: 'one', max_failures: maxFailures }, { name: 'two' }], services });
  };

  it(
    'failures within the budget are tolerated: the run goes on, each is said, and it exits 3',
    SLOW,
    async () => {
      const dir = workDir();
      budgetPlan(dir, 2, 2, 1);
      const result = await apply(dir);
      expect(result.code, result.stdout + result.stderr).toBe(EXIT.failed);
      const lines = journal(dir);
      expect(resultsOf(lines)).toEqual({
        bad1: 'failed',
        bad2: 'failed',
        good1: 'healthy',
        later: 'healthy',
      });
      const tolerated = lines.filter((l) => l.event === 'service.warning' && l.cause === 'failure-tolerated');
      expect(tolerated.map((l) => l.service).sort()).toEqual(['bad1', 'bad2']);
      expect(result.stdout).toMatch(/warning\s+failure \d of the 2 stage one tolerates/);
    },
  );

  it('one failure past the budget halts the run as a critical failure does (exit 3)', SLOW, async () => {
    const dir = workDir();
    budgetPlan(dir, 1, 2, 1);
    const result = await apply(dir);
    expect(result.code).toBe(EXIT.failed);
    const lines = journal(dir);
    expect(resultsOf(lines)).toMatchObject({ bad1: 'failed', bad2: 'failed', later: 'skipped' });
    expect(lines.find((l) => l.event === 'stage.finished' && l.stage === 'two')).toBeUndefined();
  });

  it(
    '"p%" allows floor(p% of the stage\'s services): 50% of 4 tolerates 2, 50% of 3 only 1',
    SLOW,
    async () => {
      const within = workDir();
      budgetPlan(within, '50%', 2, 2);
      expect((await apply(within)).code).toBe(EXIT.failed);
      expect(resultsOf(journal(within)).later).toBe('healthy');

      const past = workDir();
      budgetPlan(past, '50%', 2, 1);
      expect((await apply(past)).code).toBe(EXIT.failed);
      expect(resultsOf(journal(past)).later).toBe('skipped');
    },
  );
});

describe('SPEC 11 validation of conditions and budgets', () => {
  it('reports each problem with its code, line and column', SLOW, async () => {
    const dir = workDir();
    writeFile(
      dir,
      'plan.yaml',
      [
        'version: 1',
        'name: deps',
        'stages:',
        '  - name: one',
        '    max_failures: "150%"',
        '  - name: two',
        '    max_failures: -1',
        '  - name: three',
        '    max_failures: lots',
        'services:',
        '  db:',
        '    stage: one',
        '    start: "true"',
        '  api:',
        '    stage: two',
        '    depends_on:',
        '      - { service: db, condition: ready }',
        '      - { service: dbb }',
        '      - { condition: started }',
        '  web:',
        '    stage: three',
        '    depends_on: [ { service: api, required: maybe } ]',
        '',
      ].join('\n'),
    );
    const result = await runCli(['validate', 'plan.yaml', '--format', 'json'], {
      cwd: dir,
      timeoutMs: 90_000,
    });
    expect(result.code).toBe(EXIT.invalid);
    const found = (
      JSON.parse(result.stdout) as { line: number; column: number; code: string; hint?: string }[]
    ).map((d) => [d.line, d.column, d.code, d.hint ?? '']);
    expect(found).toEqual([
      [5, 19, 'invalid-value', expect.stringContaining('100%')],
      [7, 19, 'invalid-value', ''],
      [9, 19, 'invalid-value', expect.stringContaining('25%')],
      [17, 35, 'invalid-value', expect.stringContaining('started')],
      [18, 20, 'unknown-dependency', 'did you mean "db"?'],
      [19, 9, 'missing-key', ''],
      [22, 45, 'invalid-type', ''],
    ]);
  });
});

describe('SPEC 11 plan preview and digest', () => {
  const write = (dir: string, dependency: unknown, budget?: string) =>
    plan(dir, {
      stages: [{ name: 'data' }, { name: 'apps', ...(budget ? { max_failures: budget } : {}) }],
      services: {
        db: { stage: 'data', start: 'true' },
        cache: { stage: 'data', start: 'true' },
        api: {
          stage: 'apps',
          depends_on: [dependency, { service: 'cache', required: false }],
          start: 'true',
        },
        web: { stage: 'apps', depends_on: ['api'], start: 'true' },
      },
    });
  const preview = async (dir: string, format: string) => {
    const result = await runCli(['plan', 'plan.yaml', '--format', format], { cwd: dir, timeoutMs: 90_000 });
    expect(result.code, result.stderr).toBe(EXIT.ok);
    return result.stdout;
  };

  it('shows each condition and optional dependency, and the budget, in every format', SLOW, async () => {
    const dir = workDir();
    write(dir, { service: 'db', condition: 'started' }, '50%');
    const text = await preview(dir, 'text');
    expect(text).toMatch(/api\s+after db \(started\), cache \(optional\)/);
    expect(text).toContain('tolerates 1 failure (50% of its services)');
    const markdown = await preview(dir, 'markdown');
    expect(markdown).toContain('`db` (started), `cache` (optional)');
    expect(markdown).toContain('tolerates 1 failure (50% of its services)');
    expect(await preview(dir, 'mermaid')).toMatch(/s2 -->\|started\| s3\n {2}s1 -\.-> s3/);
    const dot = await preview(dir, 'dot');
    expect(dot).toContain('"cache" -> "api" [style=dashed];');
    expect(dot).toContain('"db" -> "api" [label="started"];');
    const json = JSON.parse(await preview(dir, 'json')) as {
      stages: {
        max_failures: unknown;
        services: { name: string; depends_on: string[]; dependencies: unknown }[];
      }[];
    };
    const api = json.stages[1]!.services.find((s) => s.name === 'api')!;
    expect(api.depends_on).toEqual(['db', 'cache']);
    expect(api.dependencies).toEqual([
      { service: 'db', condition: 'started', required: true },
      { service: 'cache', condition: 'healthy', required: false },
    ]);
    expect(json.stages[1]!.max_failures).toEqual({ written: '50%', count: 1 });
  });

  it(
    'the digest is the same for a name and the object form with defaults, and changes with a condition',
    SLOW,
    async () => {
      const digest = async (dependency: unknown) => {
        const dir = workDir();
        write(dir, dependency);
        return (JSON.parse(await preview(dir, 'json')) as { digest: string }).digest;
      };
      const name = await digest('db');
      expect(await digest({ service: 'db' })).toBe(name);
      expect(await digest({ service: 'db', condition: 'healthy', required: true })).toBe(name);
      expect(await digest({ service: 'db', condition: 'started' })).not.toBe(name);
    },
  );
});
