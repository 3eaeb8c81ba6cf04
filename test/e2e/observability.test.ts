import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { type CliOptions, hasStackTrace, runCli, spawnCli } from '../helpers/cli.js';
import { daemon, tcp, useWorkDirs } from '../helpers/e2e.js';
import { type ReceivedSpan, useOtlpReceivers } from '../helpers/otlp-receiver.js';
import { freePorts } from '../helpers/ports.js';
import { parsePromText, sampleValue } from '../helpers/prom-text.js';
import { writeFile } from '../helpers/tmp.js';

const workDir = useWorkDirs();
const receiver = useOtlpReceivers();

// No OTEL_* of the machine running the tests reaches the CLI unless a test sets it.
const NO_OTEL = Object.fromEntries(
  Object.keys(process.env)
    .filter((key) => key.startsWith('OTEL_'))
    .map((key) => [key, undefined]),
);

const cli = (dir: string, args: string[], env: CliOptions['env'] = {}) =>
  runCli(['apply', 'plan.yaml', '--state-dir', 'state', ...args], {
    cwd: dir,
    env: { ...NO_OTEL, ...env },
    timeoutMs: 90_000,
  });

const slow = { interval: '100ms', start_interval: '50ms' };

/**
 * Two declared stages: `core` holds a daemon (probe rounds under its attempt) and a one-shot that
 * fails its first attempt and succeeds its second; in `apps`, a service whose check never passes
 * (it fails, the run halts) and one it blocks.
 */
async function writePlan(dir: string): Promise<void> {
  const [port] = await freePorts(1);
  const plan = {
    version: 1,
    name: 'traced',
    defaults: { retry_delay: '0s' },
    stages: [{ name: 'core' }, { name: 'apps' }],
    services: {
      db: {
        stage: 'core',
        skip_if_healthy: false,
        start: daemon('--listen', port!, '--delay', 150),
        health: tcp(port!),
      },
      migrate: {
        stage: 'core',
        retries: 1,
        start: { run: 'test -f tried || { touch tried; echo first try fails >&2; exit 1; }', shell: true },
      },
      api: {
        stage: 'apps',
        depends_on: ['db', 'migrate'],
        skip_if_healthy: false,
        start: 'true',
        health: { checks: [{ exec: 'false' }], retries: 2, ...slow },
      },
      web: { stage: 'apps', depends_on: ['api'], start: 'true' },
    },
  };
  writeFile(dir, 'plan.yaml', JSON.stringify(plan, null, 2));
}

/** The run's journal lines, by event name. */
function journal(dir: string, plan = 'traced'): { event: string; time: string; [key: string]: unknown }[] {
  const runs = join(dir, 'state', plan, 'runs');
  const file = readdirSync(runs)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .at(-1)!;
  return readFileSync(join(runs, file), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}

const runLogOf = (dir: string, plan = 'traced') => {
  const runs = join(dir, 'state', plan, 'runs');
  const file = readdirSync(runs)
    .filter((f) => f.endsWith('.log'))
    .sort()
    .at(-1)!;
  return readFileSync(join(runs, file), 'utf8');
};

const one = (spans: ReceivedSpan[], name: string) => {
  const found = spans.filter((span) => span.name === name);
  expect(found, name).toHaveLength(1);
  return found[0]!;
};
const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) =>
  spans.filter((span) => span.parentSpanId === parent.spanId);

describe('SPEC 12: --otlp-endpoint sends one trace per run over OTLP/HTTP', () => {
  it('a span per run, stage, service, attempt and probe round, at the times the journal recorded', async () => {
    const dir = workDir();
    await writePlan(dir);
    const otlp = await receiver();
    const result = await cli(dir, ['--otlp-endpoint', `http://127.0.0.1:${otlp.port}`]);
    expect(result.code, result.stderr).toBe(EXIT.failed);
    expect(result.stderr).not.toMatch(/warning/);

    // JSON over HTTP to the standard path (the receiver answers 415 to anything else).
    expect(otlp.requests.length).toBeGreaterThan(0);
    for (const request of otlp.requests) {
      expect(request.path).toBe('/v1/traces');
      expect(request.contentType).toBe('application/json');
    }
    const spans = otlp.spans;
    expect(new Set(spans.map((span) => span.traceId)).size).toBe(1);
    expect(new Set(spans.map((span) => span.spanId)).size).toBe(spans.length);
    expect(spans[0]!.resource['service.name']).toBe('restore');

    const lines = journal(dir);
    const at = (event: string, match: Record<string, unknown> = {}) =>
      Date.parse(
        lines.find((line) => line.event === event && Object.entries(match).every(([k, v]) => line[k] === v))!
          .time,
      );
    const run = lines[0]!.run as string;

    const root = one(spans, 'run traced');
    expect(root.parentSpanId).toBeUndefined();
    expect(root.attributes).toMatchObject({
      'restore.plan': 'traced',
      'restore.run': run,
      'restore.result': 'failed',
    });
    expect(root.attributes['restore.digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(root.status.code).toBe(2);
    expect(root.startMs).toBe(at('run.started'));
    expect(root.endMs).toBe(at('run.finished'));

    const core = one(spans, 'stage core');
    const apps = one(spans, 'stage apps');
    expect(
      childrenOf(spans, root)
        .map((s) => s.name)
        .sort(),
    ).toEqual(['stage apps', 'stage core']);
    expect(core.attributes['restore.result']).toBe('succeeded');
    expect(apps.attributes['restore.result']).toBe('halted');
    expect(core.startMs).toBe(at('stage.started', { stage: 'core' }));
    expect(core.endMs).toBe(at('stage.finished', { stage: 'core' }));
    expect(
      childrenOf(spans, core)
        .map((s) => s.name)
        .sort(),
    ).toEqual(['service db', 'service migrate']);
    expect(
      childrenOf(spans, apps)
        .map((s) => s.name)
        .sort(),
    ).toEqual(['service api', 'service web']);

    // The retried one-shot: two attempts, the first failed with its stderr, the second healthy.
    const migrate = one(spans, 'service migrate');
    expect(migrate.attributes).toMatchObject({
      'restore.service': 'migrate',
      'restore.stage': 'core',
      'restore.host': 'local',
      'restore.result': 'healthy',
      'restore.attempts': 2,
    });
    const attempts = childrenOf(spans, migrate).sort((a, b) => a.startMs - b.startMs);
    expect(attempts.map((s) => s.name)).toEqual(['attempt 1', 'attempt 2']);
    expect(attempts[0]!.attributes).toMatchObject({
      'restore.attempt': 1,
      'restore.ok': false,
      'restore.exit_code': 1,
    });
    expect(attempts[0]!.status).toMatchObject({ code: 2 });
    expect(attempts[0]!.status.message).toContain('first try fails');
    expect(attempts[1]!.attributes).toMatchObject({ 'restore.attempt': 2, 'restore.ok': true });
    expect(attempts[0]!.startMs).toBe(at('service.starting', { service: 'migrate', attempt: 1 }));
    expect(attempts[0]!.endMs).toBe(at('service.attempt', { service: 'migrate', attempt: 1 }));
    expect(migrate.endMs).toBe(at('service.healthy', { service: 'migrate' }));

    // The daemon: its probe rounds are children of the attempt they verify; the last one passed.
    const db = one(spans, 'service db');
    const [dbAttempt] = childrenOf(spans, db);
    expect(childrenOf(spans, db)).toHaveLength(1);
    expect(dbAttempt!.attributes).toMatchObject({ 'restore.attempt': 1, 'restore.daemon': true });
    const rounds = childrenOf(spans, dbAttempt!).sort((a, b) => a.startMs - b.startMs);
    expect(rounds.length).toBeGreaterThan(0);
    expect(rounds.map((s) => s.name)).toEqual(rounds.map((_, i) => `probe round ${i + 1}`));
    expect(rounds.at(-1)!.attributes).toMatchObject({ 'restore.ok': true, 'restore.phase': 'verify' });
    expect(String((rounds.at(-1)!.attributes['restore.checks'] as string[])[0])).toMatch(
      /^tcp 127\.0\.0\.1:\d+: ok/,
    );
    const probes = lines.filter((line) => line.event === 'service.probe' && line.service === 'db');
    expect(rounds.map((s) => s.endMs)).toEqual(probes.map((line) => Date.parse(line.time)));

    // The failure: the reason and the checks that failed, the run halted, its dependent blocked.
    const api = one(spans, 'service api');
    expect(api.attributes).toMatchObject({
      'restore.result': 'failed',
      'restore.reason': 'unhealthy',
      'restore.attempts': 1,
    });
    expect(api.status.code).toBe(2);
    expect(api.status.message).toContain('exec false');
    const apiRounds = childrenOf(spans, one(childrenOf(spans, api), 'attempt 1'));
    expect(apiRounds.map((s) => s.attributes['restore.ok'])).toEqual([false, false]);
    const web = one(spans, 'service web');
    expect(web.attributes).toMatchObject({ 'restore.result': 'blocked', 'restore.blocked_by': 'api' });

    // Every span lies within its parent.
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    for (const span of spans) {
      expect(span.endMs).toBeGreaterThanOrEqual(span.startMs);
      if (!span.parentSpanId) continue;
      const parent = byId.get(span.parentSpanId);
      expect(parent, span.name).toBeDefined();
      expect(span.startMs, span.name).toBeGreaterThanOrEqual(parent!.startMs);
      expect(span.endMs, span.name).toBeLessThanOrEqual(parent!.endMs);
    }
  }, 180_000);

  it('the standard OTEL_* variables configure it (endpoint, headers, service name); the flag wins over them', async () => {
    const dir = workDir();
    writeFile(
      dir,
      'plan.yaml',
      JSON.stringify({ version: 1, name: 'envs', services: { one: { start: 'true' } } }),
    );
    const fromEnv = await receiver();
    const fromFlag = await receiver();
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${fromEnv.port}`,
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20t0ken,x-team=sre',
      OTEL_SERVICE_NAME: 'restore-drills',
    };
    const first = await cli(dir, [], env);
    expect(first.code, first.stderr).toBe(EXIT.ok);
    expect(fromEnv.requests.map((r) => r.path)).toEqual(['/v1/traces']);
    expect(fromEnv.requests[0]!.headers).toMatchObject({ authorization: 'Bearer t0ken', 'x-team': 'sre' });
    expect(fromEnv.spans.map((s) => s.name).sort()).toEqual([
      'attempt 1',
      'run envs',
      'service one',
      'stage wave-1',
    ]);
    expect(fromEnv.spans[0]!.resource['service.name']).toBe('restore-drills');

    const second = await cli(dir, ['--otlp-endpoint', `http://127.0.0.1:${fromFlag.port}/v1/traces`], {
      ...env,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${fromEnv.port}/v1/traces`,
    });
    expect(second.code, second.stderr).toBe(EXIT.ok);
    expect(fromEnv.requests).toHaveLength(1);
    expect(fromFlag.requests.map((r) => r.path)).toEqual(['/v1/traces']);
    expect(new Set(fromFlag.spans.map((s) => s.traceId)).size).toBe(1);
    expect(fromFlag.spans[0]!.traceId).not.toBe(fromEnv.spans[0]!.traceId);
  }, 180_000);

  it('an unreachable endpoint is one warning, on stderr and in the run log; the exit code is the same', async () => {
    const dir = workDir();
    await writePlan(dir);
    const [closed] = await freePorts(1);
    const without = await cli(dir, []);
    // The daemon it left running goes, so that the second run starts its own.
    const down = await runCli(['down', 'plan.yaml', '--yes', '--state-dir', 'state'], {
      cwd: dir,
      timeoutMs: 60_000,
    });
    expect(down.code, down.stderr).toBe(EXIT.ok);
    const started = Date.now();
    const result = await cli(dir, ['--otlp-endpoint', `http://127.0.0.1:${closed}`]);
    const took = Date.now() - started;
    expect(without.code).toBe(EXIT.failed);
    expect(result.code).toBe(without.code);
    const warnings = result.stderr.split('\n').filter((line) => line.includes('warning'));
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^restore: warning: sending the run's trace to http://127\\.0\\.0\\.1:${closed}/v1/traces \\(--otlp-endpoint\\) failed: .*ECONNREFUSED`,
        ),
      ),
    ]);
    expect(hasStackTrace(result.stderr)).toBe(false);
    const logged = runLogOf(dir)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((line) => line.warning === 'otlp');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 40 });
    // Bounded (5 s for the trace) on top of the run itself, however loaded the machine.
    expect(took).toBeLessThan(45_000);
  }, 180_000);

  it('a bad --otlp-endpoint is a usage error, before anything runs', async () => {
    const dir = workDir();
    writeFile(
      dir,
      'plan.yaml',
      JSON.stringify({ version: 1, name: 'bad', services: { one: { start: 'true' } } }),
    );
    const result = await cli(dir, ['--otlp-endpoint', 'grpc://127.0.0.1:4317']);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringContaining('--otlp-endpoint takes an http or https URL (OTLP over HTTP), not a grpc URL'),
    ]);
  }, 180_000);

  it('unset, nothing is sent and the SDK is never loaded', async () => {
    const dir = workDir();
    writeFile(
      dir,
      'plan.yaml',
      JSON.stringify({ version: 1, name: 'quiet', services: { one: { start: 'true' } } }),
    );
    const otlp = await receiver();
    // A module hook that writes down every @opentelemetry or prom-client module anyone imports.
    const loaded = join(dir, 'loaded.txt');
    writeFileSync(loaded, '');
    const hook = `export async function resolve(specifier, context, next) {
      if (/@opentelemetry|prom-client/.test(specifier))
        (await import('node:fs')).appendFileSync(${JSON.stringify(loaded)}, specifier + '\\n');
      return next(specifier, context);
    }`;
    writeFile(
      dir,
      'register.mjs',
      `import { register } from 'node:module';\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});\n`,
    );
    const watched = { NODE_OPTIONS: `--import=${join(dir, 'register.mjs')}` };

    // Turned off for every program: the endpoint in the environment is not used.
    const off = await cli(dir, [], {
      ...watched,
      OTEL_SDK_DISABLED: 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlp.port}`,
    });
    expect(off.code, off.stderr).toBe(EXIT.ok);
    const plain = await cli(dir, [], watched);
    expect(plain.code, plain.stderr).toBe(EXIT.ok);
    expect(otlp.requests).toHaveLength(0);
    expect(readFileSync(loaded, 'utf8')).toBe('');

    // The hook sees the SDK when it is used: the silence above means something.
    const on = await cli(dir, ['--otlp-endpoint', `http://127.0.0.1:${otlp.port}`], watched);
    expect(on.code, on.stderr).toBe(EXIT.ok);
    expect(otlp.requests).toHaveLength(1);
    expect(readFileSync(loaded, 'utf8')).toContain('@opentelemetry/sdk-trace-base');
  }, 180_000);
});

describe('SPEC 12: --metrics-file keeps the run in Prometheus text format', () => {
  /**
   * Two declared stages: `core` with a one-shot that fails its first attempt; in `apps`, a
   * service that waits for the file `go` (so the test reads the file between the stages) and
   * one that fails while the file `fail` exists.
   */
  const writeMetered = (dir: string) =>
    writeFile(
      dir,
      'plan.yaml',
      JSON.stringify({
        version: 1,
        name: 'metered',
        defaults: { retry_delay: '0s' },
        stages: [{ name: 'core' }, { name: 'apps' }],
        services: {
          migrate: {
            stage: 'core',
            retries: 1,
            start: { run: 'test -f tried || { touch tried; exit 1; }', shell: true },
          },
          api: {
            stage: 'apps',
            depends_on: ['migrate'],
            start: { run: 'while [ ! -f go ]; do sleep 0.05; done', shell: true },
          },
          check: { stage: 'apps', critical: false, start: 'test ! -f fail' },
        },
      }),
    );

  const read = (path: string) => parsePromText(readFileSync(path, 'utf8'));

  // Not the file's last test that starts a spawner helper: on a loaded machine the helper of a
  // short run may still be booting when restore exits, and the leak check after the file is 3 s.
  it('says which recovery time objectives the run met, with target and achieved times (rto:)', async () => {
    const dir = workDir();
    writeFile(
      dir,
      'plan.yaml',
      JSON.stringify({
        version: 1,
        name: 'timed',
        rto: '10m',
        services: {
          quick: { start: 'true', rto: '5m' },
          slow: { depends_on: ['quick'], start: 'sleep 1', rto: '200ms' },
          free: { start: 'true' },
        },
      }),
    );
    const path = join(dir, 'restore.prom');
    const result = await cli(dir, ['--metrics-file', path]);
    expect(result.code, result.stderr).toBe(EXIT.ok);
    const samples = read(path);
    const at = (level: string, name: string) => ({ plan: 'timed', level, name });
    expect(sampleValue(samples, 'restore_rto_met', at('plan', 'timed'))).toBe(1);
    expect(sampleValue(samples, 'restore_rto_target_seconds', at('plan', 'timed'))).toBe(600);
    expect(sampleValue(samples, 'restore_rto_met', at('service', 'quick'))).toBe(1);
    expect(sampleValue(samples, 'restore_rto_met', at('service', 'slow'))).toBe(0);
    expect(sampleValue(samples, 'restore_rto_target_seconds', at('service', 'slow'))).toBe(0.2);
    expect(
      sampleValue(samples, 'restore_rto_achieved_seconds', at('service', 'slow')),
    ).toBeGreaterThanOrEqual(1);
    // A service without a target has no RTO series.
    expect(sampleValue(samples, 'restore_rto_met', at('service', 'free'))).toBeUndefined();
  }, 60_000);

  it('is written at each stage end and at the end, atomically, and keeps the last success across a failed run', async () => {
    const dir = workDir();
    writeMetered(dir);
    mkdirSync(join(dir, 'metrics'));
    const path = join(dir, 'metrics', 'restore.prom');
    const { done } = spawnCli(['apply', 'plan.yaml', '--state-dir', 'state', '--metrics-file', path], {
      cwd: dir,
      env: NO_OTEL,
      timeoutMs: 90_000,
    });
    // Stage `core` has ended and `apps` waits for `go`: the file tells of the first stage only.
    const deadline = Date.now() + 60_000;
    while (!existsSync(path) && Date.now() < deadline) await sleep(50);
    const midway = read(path);
    const plan = { plan: 'metered' };
    expect(sampleValue(midway, 'restore_run_in_progress', plan)).toBe(1);
    expect(sampleValue(midway, 'restore_run_success', plan)).toBe(0);
    expect(sampleValue(midway, 'restore_stage_success', { ...plan, stage: 'core' })).toBe(1);
    expect(sampleValue(midway, 'restore_stage_success', { ...plan, stage: 'apps' })).toBeUndefined();
    expect(sampleValue(midway, 'restore_service_attempts', { ...plan, service: 'migrate' })).toBe(2);
    expect(sampleValue(midway, 'restore_service_healthy', { ...plan, service: 'api' })).toBeUndefined();
    writeFileSync(join(dir, 'go'), '');
    const result = await done;
    expect(result.code, result.stderr).toBe(EXIT.ok);

    const lines = journal(dir, 'metered');
    const finished = Date.parse(lines.at(-1)!.time);
    const final = read(path);
    const run = lines[0]!.run as string;
    expect(sampleValue(final, 'restore_run_info', { ...plan, run, state: 'succeeded' })).toBe(1);
    expect(sampleValue(final, 'restore_run_success', plan)).toBe(1);
    expect(sampleValue(final, 'restore_run_in_progress', plan)).toBe(0);
    expect(sampleValue(final, 'restore_run_duration_seconds', plan)).toBe(
      (lines.at(-1)!.duration_ms as number) / 1000,
    );
    expect(sampleValue(final, 'restore_last_success_timestamp_seconds', plan)).toBe(finished / 1000);
    const summary = lines.at(-1)!.services as Record<string, { duration_ms: number; attempts: number }>;
    for (const service of ['migrate', 'api', 'check']) {
      const labels = { ...plan, service };
      expect(sampleValue(final, 'restore_service_healthy', labels)).toBe(1);
      expect(sampleValue(final, 'restore_service_time_to_healthy_seconds', labels)).toBe(
        summary[service]!.duration_ms / 1000,
      );
      expect(sampleValue(final, 'restore_service_attempts', labels)).toBe(summary[service]!.attempts);
    }
    expect(
      sampleValue(final, 'restore_service_time_to_healthy_seconds', { ...plan, service: 'api' }),
    ).toBeGreaterThan(0);
    // Written by rename: no temp file is left beside it, and restore's files are 0600.
    expect(readdirSync(join(dir, 'metrics'))).toEqual(['restore.prom']);
    expect(statSync(path).mode & 0o777).toBe(0o600);

    // A failed run: its own result, and the last success of the run before it.
    writeFileSync(join(dir, 'fail'), '');
    const failed = await cli(dir, ['--metrics-file', path]);
    expect(failed.code, failed.stderr).toBe(EXIT.failed);
    const after = read(path);
    expect(sampleValue(after, 'restore_run_success', plan)).toBe(0);
    expect(
      sampleValue(after, 'restore_service_result', { ...plan, service: 'check', result: 'failed' }),
    ).toBe(1);
    expect(
      sampleValue(after, 'restore_service_time_to_healthy_seconds', { ...plan, service: 'check' }),
    ).toBeUndefined();
    expect(sampleValue(after, 'restore_last_success_timestamp_seconds', plan)).toBe(finished / 1000);
  }, 180_000);

  it('refuses a symbolic link at the path, or a missing directory, before anything runs', async () => {
    const dir = workDir();
    writeMetered(dir);
    writeFileSync(join(dir, 'go'), '');
    const target = join(dir, 'target');
    writeFileSync(target, 'kept\n');
    symlinkSync(target, join(dir, 'link.prom'));
    const linked = await cli(dir, ['--metrics-file', join(dir, 'link.prom')]);
    expect(linked.code).toBe(EXIT.usage);
    expect(linked.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/link\.prom is a symbolic link/),
    ]);
    expect(readFileSync(target, 'utf8')).toBe('kept\n');
    const missing = await cli(dir, ['--metrics-file', join(dir, 'nowhere', 'restore.prom')]);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toMatch(/its directory .*nowhere does not exist/);
    expect(hasStackTrace(linked.stderr + missing.stderr)).toBe(false);
    // Nothing ran: no run was recorded, and `migrate` never tried.
    expect(existsSync(join(dir, 'state', 'metered', 'runs'))).toBe(false);
    expect(existsSync(join(dir, 'tried'))).toBe(false);
  }, 180_000);
});
