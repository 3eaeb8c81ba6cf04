import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { hasStackTrace, runCli } from '../helpers/cli.js';
import { useTempDir, writeFile } from '../helpers/tmp.js';

const tempDir = useTempDir();

/** A plan with declared stages, where start order inside a stage is not alphabetical. */
const STAGED = `version: 1
name: shop
description: Restore the shop
secrets: [DB_PASSWORD]
stages:
  - name: core
    description: Data stores
    approval: true
    concurrency: 2
  - name: apps
services:
  zeta-db:
    stage: core
    start: [pg_ctl, -D, /srv/pg, start]
    stop: pg_ctl -D /srv/pg stop
    health:
      - tcp: { port: 5432 }
  alpha-cache:
    stage: core
    depends_on: [zeta-db]
    start: redis-server --port 6379
  api:
    stage: apps
    depends_on: [alpha-cache, zeta-db]
    start:
      run: ./bin/api --port 8080
      daemon: true
      env: { DATABASE_URL: "postgres://app:\${DB_PASSWORD}@127.0.0.1/app" }
    health:
      checks:
        - http: { url: "http://127.0.0.1:8080/healthz", status: [200, 204], body_contains: ok }
      interval: 500ms
  web:
    stage: apps
    start: "touch \${MARKER:-never-created}"
`;

async function planOf(text: string, args: string[] = [], env: Record<string, string> = {}) {
  const dir = tempDir();
  writeFile(dir, 'plan.yaml', text);
  return { dir, result: await runCli(['plan', 'plan.yaml', ...args], { cwd: dir, env }) };
}

interface PlanJson {
  name: string;
  digest: string;
  stages: {
    name: string;
    approval: boolean;
    services: { name: string; stage: string; depends_on: string[] }[];
  }[];
}

describe('SPEC 3 restore plan: the dry-run preview', () => {
  it('json: stages in order, services in a valid start order (dependencies first, ties by name)', async () => {
    const { result } = await planOf(STAGED, ['--format', 'json'], { DB_PASSWORD: 'hunter2' });
    expect(result.code).toBe(EXIT.ok);
    const plan = JSON.parse(result.stdout) as PlanJson;
    expect(plan.name).toBe('shop');
    expect(plan.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(plan.stages.map((s) => [s.name, s.approval, s.services.map((x) => x.name)])).toEqual([
      ['core', true, ['zeta-db', 'alpha-cache']],
      ['apps', false, ['api', 'web']],
    ]);
    const api = plan.stages[1]!.services[0]!;
    expect(api).toMatchObject({
      name: 'api',
      stage: 'apps',
      depends_on: ['alpha-cache', 'zeta-db'],
      start: { argv: ['./bin/api', '--port', '8080'], daemon: true, shell: false },
      stop: null,
      health: {
        interval_ms: 500,
        start_interval_ms: 100,
        retries: 30,
        checks: [{ kind: 'http', status: [200, 204] }],
      },
    });
  });

  it('computes stages wave-1, wave-2... from dependency depth when none are declared', async () => {
    const text = `version: 1
name: waves
services:
  c: { start: x, depends_on: [b] }
  b: { start: x, depends_on: [a] }
  a: { start: x }
  d: { start: x, depends_on: [a, c] }
  e: { start: x }
`;
    const { result } = await planOf(text, ['--format', 'json']);
    const plan = JSON.parse(result.stdout) as PlanJson;
    expect(plan.stages.map((s) => [s.name, s.services.map((x) => x.name)])).toEqual([
      ['wave-1', ['a', 'e']],
      ['wave-2', ['b']],
      ['wave-3', ['c']],
      ['wave-4', ['d']],
    ]);
  });

  it('never shows a secret value, and the digest does not depend on it', async () => {
    const one = await planOf(STAGED, ['--format', 'json'], { DB_PASSWORD: 'hunter2' });
    const two = await planOf(STAGED, ['--format', 'markdown'], { DB_PASSWORD: 'other-secret' });
    expect(one.result.stdout).not.toContain('hunter2');
    expect(one.result.stdout).toContain('postgres://app:${DB_PASSWORD}@127.0.0.1/app');
    const digest = (JSON.parse(one.result.stdout) as PlanJson).digest;
    expect(two.result.stdout).toContain(digest);
  });

  it('the digest changes with what would run, not with formatting', async () => {
    const env = { DB_PASSWORD: 'x' };
    const base = JSON.parse((await planOf(STAGED, ['--format', 'json'], env)).result.stdout) as PlanJson;
    const reformatted = STAGED.replace(
      'start: [pg_ctl, -D, /srv/pg, start]',
      'start: "pg_ctl -D /srv/pg start"  # same argv',
    );
    const same = JSON.parse((await planOf(reformatted, ['--format', 'json'], env)).result.stdout) as PlanJson;
    expect(same.digest).toBe(base.digest);
    const changed = STAGED.replace('interval: 500ms', 'interval: 600ms');
    const other = JSON.parse((await planOf(changed, ['--format', 'json'], env)).result.stdout) as PlanJson;
    expect(other.digest).not.toBe(base.digest);
    const variable = JSON.parse(
      (await planOf(STAGED, ['--format', 'json'], { ...env, MARKER: 'elsewhere' })).result.stdout,
    ) as PlanJson;
    expect(variable.digest).not.toBe(base.digest);
  });

  it('runs nothing', async () => {
    const { dir, result } = await planOf(STAGED, [], { DB_PASSWORD: 'x', MARKER: 'ran' });
    expect(result.code).toBe(EXIT.ok);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });

  it('text: stages, start order, commands, checks with timing, approvals and the digest', async () => {
    const { result } = await planOf(STAGED, [], { DB_PASSWORD: 'x' });
    const out = result.stdout;
    expect(out).toMatch(/digest sha256:[0-9a-f]{64}/);
    expect(out).toMatch(/Stage 1\/2: core - Data stores {2}\[approval required, at most 2 at once\]/);
    expect(out.indexOf('1. zeta-db')).toBeLessThan(out.indexOf('2. alpha-cache'));
    expect(out.indexOf('2. alpha-cache')).toBeLessThan(out.indexOf('Stage 2/2: apps'));
    expect(out).toContain('start   pg_ctl -D /srv/pg start');
    expect(out).toContain('stop    pg_ctl -D /srv/pg stop');
    expect(out).toContain('http GET http://127.0.0.1:8080/healthz -> 200|204, body contains "ok"');
    expect(out).toContain(
      'rounds every 100ms doubling to 500ms, check timeout 2s, healthy after 1 passing, failed after 30 failing',
    );
    expect(out).toContain('./bin/api --port 8080  (daemon)');
  });

  it('markdown: a table per stage and a Mermaid dependency graph', async () => {
    const { result } = await planOf(STAGED, ['--format', 'markdown'], { DB_PASSWORD: 'x' });
    const out = result.stdout;
    expect(out).toContain('# Restoration plan `shop`');
    expect(out).toContain('## Stage 1: `core` (approval required, at most 2 at once)');
    expect(out.match(/^\| # \| Service \| Depends on \| Start \| Health \| Limits \|$/gm)).toHaveLength(2);
    expect(out).toContain('| 1 | `zeta-db` | - | `pg_ctl -D /srv/pg start`');
    expect(out).toContain('```mermaid\nflowchart LR');
    expect(out).toMatch(/--expect-digest sha256:[0-9a-f]{64}/);
  });

  it('mermaid: subgraphs per stage and an edge per dependency', async () => {
    const { result } = await planOf(STAGED, ['--format', 'mermaid'], { DB_PASSWORD: 'x' });
    expect(result.stdout).toBe(
      [
        'flowchart LR',
        '  subgraph stage1["1. core (approval)"]',
        '    s1["zeta-db"]',
        '    s2["alpha-cache"]',
        '  end',
        '  subgraph stage2["2. apps"]',
        '    s3["api"]',
        '    s4["web"]',
        '  end',
        '  s1 --> s2',
        '  s2 --> s3',
        '  s1 --> s3',
        '',
      ].join('\n'),
    );
  });

  it('dot: a cluster per stage and an edge per dependency', async () => {
    const { result } = await planOf(STAGED, ['--format', 'dot'], { DB_PASSWORD: 'x' });
    expect(result.stdout).toContain('digraph "shop" {');
    expect(result.stdout).toContain('subgraph "cluster_1" {');
    expect(result.stdout).toContain('"zeta-db" -> "alpha-cache";');
    expect(result.stdout).toContain('"alpha-cache" -> "api";');
  });

  it('--only keeps the named services and everything they depend on', async () => {
    const { result } = await planOf(STAGED, ['--format', 'json', '--only', 'alpha-cache'], {
      DB_PASSWORD: 'x',
    });
    const plan = JSON.parse(result.stdout) as PlanJson;
    expect(plan.stages.map((s) => [s.name, s.services.map((x) => x.name)])).toEqual([
      ['core', ['zeta-db', 'alpha-cache']],
    ]);
  });

  it('--only accepts a comma list and repeats', async () => {
    const { result } = await planOf(
      STAGED,
      ['--format', 'json', '--only', 'web,zeta-db', '--only', 'alpha-cache'],
      {
        DB_PASSWORD: 'x',
      },
    );
    const plan = JSON.parse(result.stdout) as PlanJson;
    expect(plan.stages.flatMap((s) => s.services.map((x) => x.name))).toEqual([
      'zeta-db',
      'alpha-cache',
      'web',
    ]);
  });

  it('--only with an unknown service is a usage error with a suggestion', async () => {
    const { result } = await planOf(STAGED, ['--only', 'apii'], { DB_PASSWORD: 'x' });
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('no service "apii"');
    expect(result.stderr).toContain('did you mean "api"?');
  });

  it('an invalid plan prints its diagnostics on stderr and exits 1', async () => {
    const { result } = await planOf(STAGED, ['--format', 'json']);
    expect(result.code).toBe(EXIT.invalid);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('unset-variable');
    expect(hasStackTrace(result.stderr)).toBe(false);
  });

  it('a missing plan file is a usage error', async () => {
    const result = await runCli(['plan', 'no-such-plan.yaml']);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('no such file');
  });
});
