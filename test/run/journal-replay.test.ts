import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Timed } from '../../src/run/events.js';
import { Redactor } from '../../src/run/redact.js';
import {
  JOURNAL_EVENT_TYPES,
  type JournalEvent,
  type JournalEventType,
  sealLine,
} from '../../src/run/state/journal/format.js';
import { readJournal } from '../../src/run/state/journal/read.js';
import { type RunSnapshot, readRun } from '../../src/run/state/journal/state.js';
import { JournalWriter } from '../../src/run/state/journal/writer.js';
import { useTempDir } from '../helpers/tmp.js';

/**
 * Journals written by the real writer into a temp dir and read back as `status`, `report` and
 * `--resume` read them. Events carry chosen times (the writer records what it is given), so every
 * duration below is exact.
 */
const tempDir = useTempDir();
const RUN = '20261201T000000Z-test';
const T0 = Date.parse('2026-12-01T00:00:00.000Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();

type Sample<T extends JournalEventType> = Extract<JournalEvent, { type: T }>;
type Step = Timed<JournalEvent>;

/** A step of the run `ms` milliseconds after it started. */
const at = <E extends JournalEvent>(ms: number, event: E): Timed<E> => ({ ...event, time: T0 + ms });

const STAGES = [
  { name: 'core', approval: false, services: ['db'] },
  { name: 'app', approval: true, services: ['api', 'web'] },
];

const runStarted = (notSelected: string[] = []): Sample<'run.started'> => ({
  type: 'run.started',
  run: RUN,
  plan: 'shop',
  file: '/plans/shop.yaml',
  digest: 'sha256:abc',
  argv: ['apply', 'shop.yaml'],
  concurrency: 4,
  stages: STAGES,
  not_selected: notSelected,
});

const starting = (
  service: string,
  stage: string,
  attempt = 1,
  mark?: string,
): Sample<'service.starting'> => ({
  type: 'service.starting',
  service,
  stage,
  attempt,
  max_attempts: 2,
  command: `start-${service}`,
  daemon: false,
  ...(mark !== undefined ? { mark } : {}),
});

const healthy = (
  service: string,
  stage: string,
  extra: { resumed?: boolean } = {},
): Sample<'service.healthy'> => ({
  type: 'service.healthy',
  service,
  stage,
  attempts: 1,
  rounds: 1,
  duration_ms: 0,
  service_pid: null,
  ...extra,
});

const finished = (result: Sample<'run.finished'>['result'], awaiting?: string): Sample<'run.finished'> => ({
  type: 'run.finished',
  result,
  duration_ms: 0,
  services: {},
  ...(awaiting !== undefined ? { awaiting } : {}),
});

const stageStarted = (stage: string, index: number): Sample<'stage.started'> => ({
  type: 'stage.started',
  stage,
  index,
  count: STAGES.length,
  services: STAGES[index - 1]!.services,
});

/** The up-to-`app` part of a run: db comes up in stage core (started at 10 ms, healthy at 110 ms). */
const coreUp: Step[] = [
  at(0, runStarted()),
  at(1, stageStarted('core', 1)),
  at(10, starting('db', 'core')),
  at(60, {
    type: 'service.probe',
    service: 'db',
    stage: 'core',
    phase: 'verify',
    round: 1,
    ok: true,
    counted: true,
    checks: [],
    duration_ms: 5,
  }),
  at(110, healthy('db', 'core')),
  at(111, { type: 'stage.finished', stage: 'core', result: 'succeeded' }),
];

function write(steps: readonly Step[], file = join(tempDir(), `${RUN}.jsonl`)): string {
  const writer = JournalWriter.create(file, RUN, new Redactor([]), (error) => {
    throw error;
  });
  for (const step of steps) writer.listener(step);
  writer.close();
  return file;
}

/** Continues a journal as `apply --resume` does: same run, same file. */
function append(file: string, steps: readonly Step[]): void {
  const writer = JournalWriter.resume(file, RUN, new Redactor([]), (error) => {
    throw error;
  });
  for (const step of steps) writer.listener(step);
  writer.close();
}

function replayed(file: string): RunSnapshot {
  const snapshot = readRun(file);
  if (!snapshot) throw new Error(`${file}: no run in it`);
  return snapshot;
}

describe('SPEC 5 a run as its journal tells it (status, report, --resume)', () => {
  it('a healthy run: every service healthy, with its attempts, span and order', () => {
    const file = write([
      ...coreUp,
      at(120, { type: 'stage.approved', stage: 'app', approver: 'ops@example', via: 'yes' }),
      at(121, stageStarted('app', 2)),
      at(130, starting('api', 'app')),
      at(131, starting('web', 'app')),
      at(330, healthy('web', 'app')),
      at(430, healthy('api', 'app')),
      at(431, { type: 'stage.finished', stage: 'app', result: 'succeeded' }),
      at(500, finished('succeeded')),
    ]);
    const run = replayed(file);
    expect(run).toMatchObject({
      run: RUN,
      plan: 'shop',
      file: '/plans/shop.yaml',
      digest: 'sha256:abc',
      state: 'succeeded',
      started_at: iso(0),
      finished_at: iso(500),
      awaiting: null,
      approvals: [{ stage: 'app', approver: 'ops@example', time: iso(120) }],
      healthy_order: ['db', 'web', 'api'],
      lines: 14,
      duration_ms: 500,
    });
    expect(run.services.db).toEqual({
      stage: 'core',
      result: 'healthy',
      attempts: 1,
      // Its span opens at the start of the first probe round, or at service.starting if earlier.
      duration_ms: 100,
      started_at: iso(10),
      finished_at: iso(110),
      reason: null,
      first_attempt_at: iso(10),
      mark: null,
      attempt_at: iso(10),
    });
    expect(run.services.web).toMatchObject({ result: 'healthy', duration_ms: 199, started_at: iso(131) });
    expect(run.services.api).toMatchObject({ result: 'healthy', duration_ms: 300 });
  });

  it('a failed service and the services it blocks, with the reasons status shows', () => {
    const file = write([
      at(0, runStarted(['cache'])),
      at(1, stageStarted('core', 1)),
      at(10, starting('db', 'core')),
      at(40, starting('db', 'core', 2)),
      at(90, {
        type: 'service.failed',
        service: 'db',
        stage: 'core',
        reason: 'start-failed',
        message: 'exited with code 7: no disk',
        attempts: 2,
        duration_ms: 0,
      }),
      at(91, { type: 'service.blocked', service: 'api', stage: 'app', by: 'db' }),
      at(92, { type: 'stage.finished', stage: 'core', result: 'failed' }),
      at(93, { type: 'service.skipped', service: 'web', stage: 'app', why: 'halted' }),
      at(100, finished('failed')),
    ]);
    const run = replayed(file);
    expect(run.state).toBe('failed');
    expect(run.services.db).toMatchObject({
      result: 'failed',
      attempts: 2,
      reason: 'exited with code 7: no disk',
      duration_ms: 80,
      started_at: iso(10),
      finished_at: iso(90),
    });
    // Blocked and skipped services have no span: finished_at is when that was decided.
    expect(run.services.api).toMatchObject({
      result: 'blocked',
      reason: 'blocked by db',
      duration_ms: 0,
      started_at: null,
      finished_at: iso(91),
    });
    expect(run.services.web).toMatchObject({ result: 'skipped', reason: 'halted', started_at: null });
    expect(run.services.cache).toMatchObject({
      stage: '',
      result: 'skipped',
      reason: 'not selected (--only)',
    });
  });

  it('a run killed mid one-shot stays running with the mark of its attempt; an interrupted one says so', () => {
    const killed = write([
      ...coreUp,
      at(121, stageStarted('app', 2)),
      at(130, starting('api', 'app', 1, 'mark-1')),
    ]);
    const run = replayed(killed);
    // `loadRun` turns this into `interrupted` when no apply holds the lock for it.
    expect(run.state).toBe('running');
    expect(run.finished_at).toBeNull();
    expect(run.services.api).toMatchObject({
      result: 'running',
      attempts: 1,
      mark: 'mark-1',
      attempt_at: iso(130),
    });
    expect(run.duration_ms).toBe(130);

    append(killed, [
      at(200, { type: 'run.interrupted', signal: 'SIGINT' }),
      at(201, finished('interrupted')),
    ]);
    const stopped = replayed(killed);
    expect(stopped.state).toBe('interrupted');
    expect(stopped.finished_at).toBe(iso(201));
    // A service in flight when the run stopped: its span closes with the run.
    expect(stopped.services.api).toMatchObject({ result: 'running', duration_ms: 70, mark: 'mark-1' });
  });

  it('a resumed run: running again, then a confirmed service keeps its span and a new one gets its own', () => {
    const file = write([
      ...coreUp,
      at(120, { type: 'run.awaiting-approval', stage: 'app', services: 2 }),
      at(121, finished('awaiting-approval', 'app')),
    ]);
    append(file, [
      at(1000, {
        type: 'run.resumed',
        run: RUN,
        plan: 'shop',
        digest: 'sha256:abc',
        argv: ['apply', 'shop.yaml', '--resume'],
        concurrency: 4,
        stages: STAGES,
      }),
    ]);
    const resuming = replayed(file);
    expect(resuming).toMatchObject({ state: 'running', finished_at: null, awaiting: null });

    append(file, [
      at(1010, healthy('db', 'core', { resumed: true })),
      at(1020, { type: 'stage.approved', stage: 'app', approver: 'ops', via: 'approve-flag' }),
      at(1030, starting('api', 'app')),
      at(1040, starting('web', 'app')),
      at(1100, healthy('api', 'app')),
      at(1200, healthy('web', 'app')),
      at(1300, finished('succeeded')),
    ]);
    const run = replayed(file);
    expect(run.state).toBe('succeeded');
    expect(run.services.db).toMatchObject({ result: 'healthy', duration_ms: 100, finished_at: iso(110) });
    expect(run.services.api).toMatchObject({ duration_ms: 70, started_at: iso(1030) });
    expect(run.approvals.map((a) => a.stage)).toEqual(['app']);
    expect(run.healthy_order).toEqual(['db', 'api', 'web']);
    // Wall time: the resumed run counts the time it stood stopped.
    expect(run.duration_ms).toBe(1300);
    expect(readJournal(file).broken).toBeUndefined();
  });

  it('rollback: services stopped again read rolled-back; one left alone or whose stop failed does not', () => {
    const rolledBack = (service: string, stage: string, ok: boolean, left_alone?: boolean) =>
      at(400, {
        type: 'service.rolled-back',
        service,
        stage,
        ok,
        message: ok ? 'stopped' : 'stop command exited with code 1',
        ...(left_alone !== undefined ? { left_alone } : {}),
      });
    const file = write([
      at(0, runStarted()),
      at(10, starting('db', 'core')),
      at(20, healthy('db', 'core')),
      at(30, starting('api', 'app')),
      at(40, starting('web', 'app')),
      at(50, healthy('api', 'app')),
      at(300, {
        type: 'service.failed',
        service: 'web',
        stage: 'app',
        reason: 'unhealthy',
        message: '3 failing rounds',
        attempts: 1,
        duration_ms: 0,
      }),
      rolledBack('api', 'app', true),
      rolledBack('db', 'core', false),
      rolledBack('web', 'app', true, true),
      at(500, finished('failed')),
    ]);
    const run = replayed(file);
    expect(Object.fromEntries(Object.entries(run.services).map(([name, s]) => [name, s.result]))).toEqual({
      db: 'healthy',
      api: 'rolled-back',
      web: 'failed',
    });
    // Its timeline keeps the span in which it became healthy.
    expect(run.services.api).toMatchObject({ duration_ms: 20, finished_at: iso(50) });
    expect(run.healthy_order).toEqual(['db', 'api']);
  });

  it('a drill: run.started says drill and its stand-ins; the teardown keeps results and is finished until a resume', () => {
    const tornDown = (service: string, stage: string, ok: boolean) =>
      at(600, {
        type: 'service.torn-down',
        service,
        stage,
        ok,
        action: 'signal',
        message: ok ? 'stopped daemon pid 42' : 'could not stop',
      } as const);
    const hosts = {
      db1: { address: '127.0.0.1', user: 'ops', port: 2222, identity_file: null, ssh_options: {} },
    };
    const file = write([
      at(0, { ...runStarted(), mode: 'drill', hosts }),
      at(10, starting('db', 'core')),
      at(20, healthy('db', 'core')),
      at(30, { type: 'service.already-healthy', service: 'api', stage: 'app' }),
      at(500, finished('succeeded')),
      tornDown('db', 'core', true),
    ]);
    const during = replayed(file);
    expect(during).toMatchObject({ mode: 'drill', hosts, state: 'succeeded' });
    expect(during.teardown).toEqual({ finished: false, stopped: ['db'], failed: [], left_running: [] });
    append(file, [
      at(700, {
        type: 'drill.torn-down',
        stopped: ['db'],
        failed: [],
        left_alone: [],
        left_running: ['api'],
      }),
    ]);
    const run = replayed(file);
    // The results are what the drill achieved, its time the restoration's, not the teardown's.
    expect(run.services.db?.result).toBe('healthy');
    expect(run.duration_ms).toBe(500);
    expect(run.teardown).toEqual({ finished: true, stopped: ['db'], failed: [], left_running: ['api'] });
    append(file, [at(800, SAMPLES['run.resumed'])]);
    expect(replayed(file).teardown?.finished).toBe(false);
  });

  it('a journal of before drills reads as an apply', () => {
    const run = replayed(write([at(0, runStarted()), at(10, finished('succeeded'))]));
    expect(run).toMatchObject({ mode: 'apply', hosts: null, teardown: null });
  });

  it('a run awaiting approval names the stage; the stage not started stays pending', () => {
    const file = write([
      ...coreUp,
      at(120, { type: 'run.awaiting-approval', stage: 'app', services: 2 }),
      at(121, finished('awaiting-approval', 'app')),
    ]);
    const run = replayed(file);
    expect(run).toMatchObject({ state: 'awaiting-approval', awaiting: 'app', finished_at: iso(121) });
    expect(run.services.api).toMatchObject({
      stage: 'app',
      result: 'pending',
      attempts: 0,
      finished_at: null,
    });
    expect(run.approvals).toEqual([]);
  });

  it('a torn last line is left out of the run, and cut off when the run goes on', () => {
    const file = write(coreUp);
    const whole = readFileSync(file, 'utf8');
    appendFileSync(file, '{"seq":7,"time":"2026-12-01T00:00:00.200Z","run":"x","event":"service.start');
    const read = readJournal(file);
    expect(read).toMatchObject({ torn: true, lines: 6, completeBytes: Buffer.byteLength(whole) });
    expect(read.broken).toBeUndefined();
    expect(replayed(file)).toEqual(readRun(write(coreUp, join(tempDir(), 'whole.jsonl'))));

    append(file, [at(500, finished('succeeded'))]);
    const after = readJournal(file);
    expect(after).toMatchObject({ torn: false, lines: 7 });
    expect(after.broken).toBeUndefined();
    expect(replayed(file).state).toBe('succeeded');
  });

  it('a broken chain is found at the line edited; the run still reads from what is there', () => {
    const file = write([...coreUp, at(500, finished('succeeded'))]);
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[4] = lines[4]!.replace('"attempts":1', '"attempts":9');
    writeFileSync(file, lines.join('\n'));
    const read = readJournal(file);
    expect(read.broken).toEqual({
      line: 5,
      reason: 'hash does not match (line edited, or a line before it removed or reordered)',
    });
    expect(read.lines).toBe(7);
    expect(replayed(file).services.db!.attempts).toBe(9);
  });

  it('a line of an event this restore does not know counts in the chain and is passed over', () => {
    const file = write(coreUp);
    const tip = readJournal(file).tip!;
    const line = { seq: tip.seq + 1, time: iso(115), run: RUN, event: 'service.teleported', service: 'db' };
    appendFileSync(file, sealLine(tip.hash, line).text);
    append(file, [at(500, finished('succeeded'))]);
    const read = readJournal(file);
    expect(read.broken).toBeUndefined();
    expect(read.lines).toBe(8);
    expect(read.entries.map((e) => e.event)).not.toContain('service.teleported');
    expect(read.entries.at(-1)).toMatchObject({ seq: 8, event: 'run.finished' });
    expect(replayed(file)).toMatchObject({ state: 'succeeded', lines: 8 });
  });

  it('a journal whose first line is not run.started is no run', () => {
    const file = write([at(10, starting('db', 'core'))]);
    expect(readRun(file)).toBeUndefined();
  });
});

/**
 * One sample of every event the journal records. Typed by the union: an event added to it, or
 * renamed, is a compile error here until it has its sample, and the replay below then shows that
 * the fold has its case (its default is `unreachable`, which throws).
 */
const SAMPLES: { [T in JournalEventType]: Sample<T> } = {
  'run.started': runStarted(),
  'run.output-lost': { type: 'run.output-lost', stream: 'stdout', cause: 'EPIPE' },
  'run.resumed': {
    type: 'run.resumed',
    run: RUN,
    plan: 'shop',
    digest: 'sha256:abc',
    argv: [],
    concurrency: 1,
    stages: STAGES,
  },
  'stage.started': stageStarted('core', 1),
  'stage.approved': { type: 'stage.approved', stage: 'app', approver: 'ops', via: 'journal' },
  'stage.waiting-approval': {
    type: 'stage.waiting-approval',
    stage: 'app',
    approvals: 1,
    approvers: 2,
    from: ['alice', 'bob'],
    signed: true,
    timeout_ms: 60_000,
  },
  'run.awaiting-approval': { type: 'run.awaiting-approval', stage: 'app', services: 2 },
  'service.starting': starting('db', 'core', 1, 'mark-1'),
  'service.attempt': {
    type: 'service.attempt',
    service: 'db',
    stage: 'core',
    attempt: 1,
    ok: true,
    record: {
      command: 'start-db',
      argv: ['start-db'],
      cwd: '/',
      service_pid: 42,
      startedAt: T0,
      durationMs: 3,
      exitCode: 0,
      signal: null,
      timedOut: false,
      failure: null,
      message: 'exited with code 0',
    },
  },
  'service.probe': {
    type: 'service.probe',
    service: 'db',
    stage: 'core',
    phase: 'skip-check',
    round: 1,
    ok: false,
    counted: true,
    checks: [
      { kind: 'tcp', target: '127.0.0.1:5432', ok: false, detail: 'connection refused', durationMs: 1 },
    ],
    duration_ms: 1,
  },
  'service.healthy': healthy('db', 'core'),
  'service.already-healthy': { type: 'service.already-healthy', service: 'api', stage: 'app' },
  'service.failed': {
    type: 'service.failed',
    service: 'web',
    stage: 'app',
    reason: 'deadline',
    message: 'deadline passed',
    attempts: 1,
    duration_ms: 0,
  },
  'service.blocked': { type: 'service.blocked', service: 'web', stage: 'app', by: 'api' },
  'service.warning': {
    type: 'service.warning',
    service: 'web',
    stage: 'app',
    cause: 'optional-dependency-failed',
    dependency: 'cache',
    message: 'starts although its optional dependency cache failed (required: false)',
  },
  'service.skipped': { type: 'service.skipped', service: 'web', stage: 'app', why: 'interrupted' },
  'service.rolled-back': {
    type: 'service.rolled-back',
    service: 'db',
    stage: 'core',
    ok: true,
    message: 'stopped',
  },
  'service.verified': {
    type: 'service.verified',
    service: 'db',
    stage: 'core',
    before: 'start',
    files: [{ kind: 'file', path: 'bin/db', sha256: 'a'.repeat(64) }],
    checked: [`bin/db: sha256 ${'a'.repeat(64)}`],
  },
  'service.escaped': {
    type: 'service.escaped',
    service: 'db',
    stage: 'core',
    processes: [{ pid: 43, command: 'sleep 100' }],
    stopped: true,
  },
  'service.in-flight': {
    type: 'service.in-flight',
    service: 'db',
    stage: 'core',
    phase: 'waiting',
    processes: [{ pid: 44, command: 'migrate' }],
    wait_ms: 1000,
  },
  'stage.finished': { type: 'stage.finished', stage: 'core', result: 'succeeded' },
  'run.interrupted': { type: 'run.interrupted', signal: 'SIGTERM' },
  'run.finished': finished('interrupted'),
  'notify.failed': {
    type: 'notify.failed',
    sink: 0,
    kind: 'webhook',
    target: 'https://hooks.example.com',
    notified: 'run.finished',
    tries: 3,
    error: 'HTTP 500',
  },
  'service.torn-down': {
    type: 'service.torn-down',
    service: 'db',
    stage: 'core',
    ok: true,
    action: 'signal',
    message: 'stopped daemon pid 42',
  },
  'drill.torn-down': {
    type: 'drill.torn-down',
    stopped: ['db'],
    failed: [],
    left_alone: [],
    left_running: [],
  },
};

describe('SPEC 5 every journal event has its place in the replay', () => {
  it('the reader knows exactly the events of the union', () => {
    expect([...JOURNAL_EVENT_TYPES].sort()).toEqual(Object.keys(SAMPLES).sort());
  });

  it('a journal holding every event replays without an unhandled one, each read back typed', () => {
    const file = write(Object.values(SAMPLES).map((event, index) => at(index, event)));
    const read = readJournal(file);
    expect(read.entries.map((e) => e.event)).toEqual(Object.keys(SAMPLES));
    expect(read.lines).toBe(Object.keys(SAMPLES).length);
    const run = replayed(file);
    expect(run.state).toBe('interrupted');
    expect(run.lines).toBe(Object.keys(SAMPLES).length);
  });
});
