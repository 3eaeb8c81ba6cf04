import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planDigest } from '../../src/plan/digest.js';
import { checkPlanText } from '../../src/plan/load.js';
import type { ResolvedPlan } from '../../src/plan/model.js';
import { rtoTable } from '../../src/report/rto.js';
import type { Timed } from '../../src/run/events.js';
import { Redactor } from '../../src/run/redact.js';
import type { JournalEvent } from '../../src/run/state/journal/format.js';
import { type RunSnapshot, readRun } from '../../src/run/state/journal/state.js';
import { JournalWriter } from '../../src/run/state/journal/writer.js';
import { useTempDir } from '../helpers/tmp.js';

/**
 * The RTO table from journals written by the real writer with chosen times, so every figure is
 * exact: what `status`, `report`, `--enforce-rto` and the evidence bundle read.
 */
const tempDir = useTempDir();
const RUN = '20261201T000000Z-rto';
const T0 = Date.parse('2026-12-01T00:00:00.000Z');

type Step = Timed<JournalEvent>;
const at = (ms: number, event: JournalEvent): Step => ({ ...event, time: T0 + ms });

function plan(yaml: string): ResolvedPlan {
  const result = checkPlanText('plan.yaml', yaml, {});
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  return result.value.plan;
}

const PLAN = plan(`
version: 1
name: shop
rto: 10s
stages:
  - { name: core, rto: 1s }
  - { name: app, approval: true, rto: 2s }
services:
  db: { stage: core, start: "true", rto: 500ms }
  api: { stage: app, start: "true", depends_on: [db], rto: 1s }
  web: { stage: app, start: "true", depends_on: [db] }
`);

const STAGES = [
  { name: 'core', approval: false, services: ['db'] },
  { name: 'app', approval: true, services: ['api', 'web'] },
];

function run(steps: readonly Step[], notSelected: string[] = []): RunSnapshot {
  const file = join(tempDir(), `${RUN}.jsonl`);
  const writer = JournalWriter.create(file, RUN, new Redactor([]), (error) => {
    throw error;
  });
  const first: Step = at(0, {
    type: 'run.started',
    run: RUN,
    plan: 'shop',
    file: '/plans/shop.yaml',
    digest: 'sha256:abc',
    argv: [],
    concurrency: 4,
    stages: STAGES,
    not_selected: notSelected,
  });
  for (const step of [first, ...steps]) writer.listener(step);
  writer.close();
  const snapshot = readRun(file);
  if (!snapshot) throw new Error('no run');
  return snapshot;
}

const stageStarted = (stage: string): JournalEvent => ({
  type: 'stage.started',
  stage,
  index: stage === 'core' ? 1 : 2,
  count: 2,
  services: [],
});
const stageFinished = (stage: string, result: 'succeeded' | 'failed' = 'succeeded'): JournalEvent => ({
  type: 'stage.finished',
  stage,
  result,
});
const starting = (service: string, stage: string, attempt = 1): JournalEvent => ({
  type: 'service.starting',
  service,
  stage,
  attempt,
  max_attempts: 2,
  command: 'true',
  daemon: false,
});
const healthy = (service: string, stage: string): JournalEvent => ({
  type: 'service.healthy',
  service,
  stage,
  attempts: 1,
  rounds: 1,
  duration_ms: 0,
  service_pid: null,
});
const approved = (stage: string): JournalEvent => ({
  type: 'stage.approved',
  stage,
  approver: 'ops',
  via: 'approve-flag',
});
const finished = (result: 'succeeded' | 'failed' | 'awaiting-approval', awaiting?: string): JournalEvent => ({
  type: 'run.finished',
  result,
  duration_ms: 0,
  services: {},
  ...(awaiting ? { awaiting } : {}),
});

/** db up from 10 to 310 ms in stage core (1 to 320 ms). */
const coreUp: Step[] = [
  at(1, stageStarted('core')),
  at(10, starting('db', 'core')),
  at(310, healthy('db', 'core')),
  at(320, stageFinished('core')),
];

describe('SPEC 10 the RTO table of a run', () => {
  it('plan: start to the last healthy, approval waits in it and given apart; stage: start to finish; service: first attempt to healthy', () => {
    const table = rtoTable(
      PLAN,
      run([
        ...coreUp,
        // Stopped at the gate (exit 4), resumed 5 s later with the approval.
        at(321, { type: 'run.awaiting-approval', stage: 'app', services: 2 }),
        at(322, finished('awaiting-approval', 'app')),
        at(5320, {
          type: 'run.resumed',
          run: RUN,
          plan: 'shop',
          digest: 'sha256:abc',
          argv: [],
          concurrency: 4,
          stages: STAGES,
        }),
        // The resumed run goes through core again to confirm db: core keeps its times.
        at(5321, stageStarted('core')),
        at(5330, { ...healthy('db', 'core'), resumed: true } as JournalEvent),
        at(5331, stageFinished('core')),
        at(5340, approved('app')),
        at(5350, stageStarted('app')),
        at(5360, starting('api', 'app')),
        at(5900, starting('api', 'app', 2)),
        at(6860, healthy('api', 'app')),
        at(5370, starting('web', 'app')),
        at(5380, healthy('web', 'app')),
        at(6870, stageFinished('app')),
        at(6900, finished('succeeded')),
      ]),
    );
    expect(table.plan).toEqual({ rto_ms: 10_000, achieved_ms: 6860, met: true, approval_wait_ms: 5030 });
    expect(table.approval_wait_ms).toBe(5030);
    expect(table.stages).toEqual({
      core: { rto_ms: 1000, achieved_ms: 319, met: true, approval_wait_ms: 0 },
      app: { rto_ms: 2000, achieved_ms: 1520, met: true, approval_wait_ms: 5030 },
    });
    // Counted from its first attempt, retries included.
    expect(table.services).toEqual({
      db: { rto_ms: 500, achieved_ms: 300, met: true },
      api: { rto_ms: 1000, achieved_ms: 1500, met: false },
    });
    expect(table.missed).toBe(true);
  });

  it('a run still going: a target inside its time is open (met null), one past it is already missed', () => {
    const table = rtoTable(
      PLAN,
      run([
        at(1, stageStarted('core')),
        at(10, starting('db', 'core')),
        at(900, { ...stageStarted('core') }),
      ]),
    );
    expect(table.plan).toMatchObject({ achieved_ms: null, met: null, note: 'not every service healthy yet' });
    expect(table.stages.core).toEqual({
      rto_ms: 1000,
      achieved_ms: null,
      met: null,
      note: 'not finished',
      approval_wait_ms: 0,
    });
    expect(table.services.db).toEqual({
      rto_ms: 500,
      achieved_ms: null,
      met: false,
      note: 'not healthy yet; already over its target',
    });
    expect(table.services.api).toEqual({ rto_ms: 1000, achieved_ms: null, met: null, note: 'not started' });
    expect(table.stages.app).toMatchObject({ met: null, note: 'not started' });
  });

  it('a failed run: what was not reached is missed, with the reason', () => {
    const table = rtoTable(
      PLAN,
      run([
        at(1, stageStarted('core')),
        at(10, starting('db', 'core')),
        at(50, {
          type: 'service.failed',
          service: 'db',
          stage: 'core',
          reason: 'start-failed',
          message: 'exited with code 1',
          attempts: 1,
          duration_ms: 0,
        }),
        at(51, { type: 'service.blocked', service: 'api', stage: 'app', by: 'db' }),
        at(60, stageFinished('core', 'failed')),
        at(70, finished('failed')),
      ]),
    );
    expect(table.services.db).toEqual({ rto_ms: 500, achieved_ms: null, met: false, note: 'failed' });
    expect(table.services.api).toEqual({
      rto_ms: 1000,
      achieved_ms: null,
      met: false,
      note: 'blocked: blocked by db',
    });
    expect(table.stages.core).toMatchObject({ achieved_ms: null, met: false, note: 'stage failed' });
    expect(table.stages.app).toMatchObject({ achieved_ms: null, met: false, note: 'not started' });
    expect(table.plan).toMatchObject({ achieved_ms: null, met: false, note: '2 services not healthy' });
  });

  it('a service found already healthy took 0 ms; services left out by --only have no row and do not hold the plan back', () => {
    const table = rtoTable(
      PLAN,
      run(
        [
          at(1, stageStarted('core')),
          at(20, { type: 'service.already-healthy', service: 'db', stage: 'core' }),
          at(21, stageFinished('core')),
          at(30, finished('succeeded')),
        ],
        ['api', 'web'],
      ),
    );
    expect(table.services).toEqual({ db: { rto_ms: 500, achieved_ms: 0, met: true } });
    expect(table.plan).toMatchObject({ achieved_ms: 20, met: true });
    expect(table.missed).toBe(false);
  });

  it('a plan without targets has an empty table, and the approval waits still', () => {
    const bare = plan('version: 1\nname: shop\nservices:\n  db: { start: "true" }\n');
    const table = rtoTable(bare, run([...coreUp, at(400, finished('succeeded'))]));
    expect(table).toEqual({ plan: null, stages: {}, services: {}, approval_wait_ms: 0, missed: false });
  });
});

describe('SPEC 10 targets and the digest', () => {
  it('a plan without rto keeps its digest; a target changes it', () => {
    const base = 'version: 1\nname: shop\nservices:\n  db: { start: "true" }\n';
    const without = plan(base);
    expect(without).not.toHaveProperty('rto_ms');
    expect(planDigest({ ...without, rto_ms: null } as unknown as ResolvedPlan)).toBe(planDigest(without));
    const withRto = plan(base.replace('{ start: "true" }', '{ start: "true", rto: 1m }'));
    expect(withRto.services.db!.rto_ms).toBe(60_000);
    expect(planDigest(withRto)).not.toBe(planDigest(without));
  });
});
