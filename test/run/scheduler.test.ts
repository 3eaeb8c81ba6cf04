import { describe, expect, it } from 'vitest';
import type { ResolvedPlan, ResolvedService, ResolvedStage } from '../../src/plan/model.js';
import { runStages } from '../../src/run/engine/scheduler.js';
import type { ServiceOutcome } from '../../src/run/engine/service-context.js';
import { type AttemptRecord, EventBus, type RunEvent } from '../../src/run/events.js';
import { serviceOf } from '../helpers/resolved.js';

/**
 * The scheduler's decisions, with services whose outcome the test chooses. (Starting real
 * processes is the end-to-end tests' job; here the order and the caps are the subject.)
 */
const service = (name: string, stage: string, depends_on: string[] = [], critical = true): ResolvedService =>
  serviceOf(name, stage, { depends_on, critical });

function planOf(
  stages: {
    name: string;
    approval?: boolean;
    concurrency?: number;
    computed?: boolean;
    services: ResolvedService[];
  }[],
): ResolvedPlan {
  const resolvedStages: ResolvedStage[] = stages.map((s) => ({
    name: s.name,
    description: null,
    approval: s.approval ?? false,
    approval_rule: s.approval ? { approvers: 1, from: null, signed: false, allowed_signers: null } : null,
    concurrency: s.concurrency ?? null,
    computed: s.computed ?? false,
    services: s.services.map((x) => x.name),
  }));
  return {
    version: 1,
    name: 'test',
    description: null,
    secrets: [],
    stages: resolvedStages,
    hosts: {},
    services: Object.fromEntries(stages.flatMap((s) => s.services).map((x) => [x.name, x])),
  };
}

async function run(
  plan: ResolvedPlan,
  outcomes: Record<string, 'healthy' | 'failed'> = {},
  options: {
    concurrency?: number;
    approve?: boolean;
    abortAfter?: string;
    delays?: Record<string, number>;
  } = {},
) {
  const bus = new EventBus();
  const events: RunEvent[] = [];
  bus.subscribe((event) => events.push(event));
  const starts: string[] = [];
  const done: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const controller = new AbortController();
  const outcome = await runStages(plan, {
    bus,
    concurrency: options.concurrency ?? 4,
    signal: controller.signal,
    approve: async () => options.approve ?? true,
    restore: async (s): Promise<ServiceOutcome> => {
      starts.push(s.name);
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, options.delays?.[s.name] ?? 20));
      inFlight -= 1;
      done.push(s.name);
      if (options.abortAfter === s.name) controller.abort('SIGINT');
      if (outcomes[s.name] === 'failed') {
        bus.emit({
          type: 'service.failed',
          service: s.name,
          stage: s.stage,
          reason: 'start-failed',
          message: 'no',
          attempts: 1,
          duration_ms: 20,
        });
        return { result: 'failed', attempts: 1, durationMs: 20, reason: 'start-failed', message: 'no' };
      }
      return { result: 'healthy', attempts: 1, durationMs: 20, pid: null };
    },
  });
  return { outcome, events, starts, done, maxInFlight };
}

const results = (o: Awaited<ReturnType<typeof run>>) =>
  Object.fromEntries(Object.entries(o.outcome.services).map(([k, v]) => [k, v.result]));

describe('SPEC 4 scheduling', () => {
  it('starts a service only after all its dependencies are healthy, and in start order', async () => {
    const plan = planOf([
      {
        name: 's',
        services: [
          service('a', 's'),
          service('b', 's', ['a']),
          service('c', 's', ['a']),
          service('d', 's', ['b', 'c']),
        ],
      },
    ]);
    const { starts, outcome } = await run(plan);
    expect(outcome.result).toBe('succeeded');
    expect(starts.indexOf('a')).toBe(0);
    expect(starts.indexOf('d')).toBe(3);
  });

  it('a failure blocks every transitive dependent; a critical one halts the run', async () => {
    const plan = planOf([
      { name: 'one', services: [service('a', 'one'), service('b', 'one', ['a']), service('x', 'one')] },
      { name: 'two', services: [service('c', 'two', ['b']), service('y', 'two')] },
    ]);
    const o = await run(plan, { a: 'failed' }, { concurrency: 1 });
    expect(results(o)).toEqual({ a: 'failed', b: 'blocked', x: 'skipped', c: 'blocked', y: 'skipped' });
    expect(o.outcome.result).toBe('failed');
    expect(o.events.filter((e) => e.type === 'service.blocked').map((e) => (e as { by: string }).by)).toEqual(
      ['a', 'a'],
    );
  });

  it('a non-critical failure lets the rest go on', async () => {
    const plan = planOf([
      { name: 'one', services: [service('a', 'one', [], false), service('x', 'one')] },
      { name: 'two', services: [service('b', 'two', ['a']), service('y', 'two', ['x'])] },
    ]);
    const o = await run(plan, { a: 'failed' });
    expect(results(o)).toEqual({ a: 'failed', x: 'healthy', b: 'blocked', y: 'healthy' });
    expect(o.outcome.result).toBe('failed');
  });

  it('keeps within the smaller of the stage and global caps', async () => {
    const many = (stage: string) => Array.from({ length: 8 }, (_, i) => service(`${stage}${i}`, stage));
    expect(
      (await run(planOf([{ name: 's', services: many('s') }]), {}, { concurrency: 3 })).maxInFlight,
    ).toBe(3);
    expect(
      (await run(planOf([{ name: 't', concurrency: 2, services: many('t') }]), {}, { concurrency: 5 }))
        .maxInFlight,
    ).toBe(2);
  });

  it('stops before a stage that is not approved: awaiting-approval, later services skipped', async () => {
    const plan = planOf([
      { name: 'one', services: [service('a', 'one')] },
      { name: 'two', approval: true, services: [service('b', 'two', ['a'])] },
    ]);
    const o = await run(plan, {}, { approve: false });
    expect(o.outcome).toMatchObject({ result: 'awaiting-approval', awaiting: 'two' });
    expect(results(o)).toEqual({ a: 'healthy', b: 'skipped' });
    expect(o.starts).toEqual(['a']);
  });

  it('an interruption starts nothing new and skips what is left', async () => {
    const plan = planOf([
      { name: 's', services: [service('a', 's'), service('b', 's', ['a']), service('c', 's', ['b'])] },
    ]);
    const o = await run(plan, {}, { abortAfter: 'a' });
    expect(o.outcome.result).toBe('interrupted');
    expect(o.starts).toEqual(['a']);
    expect(results(o)).toEqual({ a: 'healthy', b: 'skipped', c: 'skipped' });
  });

  it('computed waves are not barriers: a wave-2 service whose dependencies are up does not wait for wave-1', async () => {
    const plan = planOf([
      { name: 'wave-1', computed: true, services: [service('fast', 'wave-1'), service('slow', 'wave-1')] },
      { name: 'wave-2', computed: true, services: [service('app', 'wave-2', ['fast'])] },
    ]);
    const o = await run(plan, {}, { delays: { slow: 300 } });
    expect(o.outcome.result).toBe('succeeded');
    const at = (type: string, key: string, value: string) =>
      o.events.findIndex((e) => e.type === type && (e as unknown as Record<string, string>)[key] === value);
    // app started and finished while slow was still in flight.
    expect(o.done).toEqual(['fast', 'app', 'slow']);
    // Waves stay groups for reading: wave-2 opens before wave-1 closes, and closes after app.
    expect(at('stage.started', 'stage', 'wave-2')).toBeGreaterThan(-1);
    expect(at('stage.started', 'stage', 'wave-2')).toBeLessThan(at('stage.finished', 'stage', 'wave-1'));
    expect(at('stage.finished', 'stage', 'wave-2')).toBeLessThan(at('stage.finished', 'stage', 'wave-1'));
    expect(o.events.filter((e) => e.type === 'stage.finished')).toHaveLength(2);
  });

  it('declared stages stay barriers: a service of stage two waits for all of stage one', async () => {
    const plan = planOf([
      { name: 'one', services: [service('fast', 'one'), service('slow', 'one')] },
      { name: 'two', services: [service('app', 'two', ['fast'])] },
    ]);
    const o = await run(plan, {}, { delays: { slow: 150 } });
    expect(o.starts).toEqual(['fast', 'slow', 'app']);
    const types = o.events.map((e) =>
      e.type.startsWith('stage.') ? `${e.type}:${(e as { stage: string }).stage}` : e.type,
    );
    expect(types.indexOf('stage.started:two')).toBeGreaterThan(types.indexOf('stage.finished:one'));
  });

  it('a failure in a computed wave blocks its dependents in later waves, each wave closed once', async () => {
    const plan = planOf([
      {
        name: 'wave-1',
        computed: true,
        services: [service('a', 'wave-1', [], false), service('x', 'wave-1')],
      },
      {
        name: 'wave-2',
        computed: true,
        services: [service('b', 'wave-2', ['a']), service('y', 'wave-2', ['x'])],
      },
      { name: 'wave-3', computed: true, services: [service('c', 'wave-3', ['b'])] },
    ]);
    const o = await run(plan, { a: 'failed' });
    expect(results(o)).toEqual({ a: 'failed', x: 'healthy', b: 'blocked', y: 'healthy', c: 'blocked' });
    const stageEvents = o.events
      .filter((e) => e.type.startsWith('stage.'))
      .map((e) => `${e.type}:${(e as { stage: string }).stage}`);
    for (const wave of ['wave-1', 'wave-2', 'wave-3']) {
      expect(stageEvents.filter((e) => e === `stage.started:${wave}`)).toHaveLength(1);
      expect(stageEvents.filter((e) => e === `stage.finished:${wave}`)).toHaveLength(1);
      expect(stageEvents.indexOf(`stage.started:${wave}`)).toBeLessThan(
        stageEvents.indexOf(`stage.finished:${wave}`),
      );
    }
  });

  it('a wave whose services have all settled closes before the next wave opens', async () => {
    const plan = planOf([
      { name: 'wave-1', computed: true, services: [service('a', 'wave-1')] },
      { name: 'wave-2', computed: true, services: [service('b', 'wave-2', ['a'])] },
    ]);
    const o = await run(plan);
    const stageEvents = o.events
      .filter((e) => e.type.startsWith('stage.'))
      .map((e) => `${e.type}:${(e as { stage: string }).stage}`);
    expect(stageEvents).toEqual([
      'stage.started:wave-1',
      'stage.finished:wave-1',
      'stage.started:wave-2',
      'stage.finished:wave-2',
    ]);
  });
});

describe('SPEC 11 dependency conditions and failure budgets', () => {
  it('`started`: the dependent is started as soon as the dependency reports its start succeeded', async () => {
    const db = service('db', 's');
    const api = serviceOf('api', 's', {
      depends_on: ['db'],
      dependencies: [{ service: 'db', condition: 'started', required: true }],
    });
    const bus = new EventBus();
    const order: string[] = [];
    const outcome = await runStages(planOf([{ name: 's', services: [db, api] }]), {
      bus,
      concurrency: 4,
      signal: new AbortController().signal,
      approve: async () => true,
      restore: async (s): Promise<ServiceOutcome> => {
        order.push(`${s.name} starts`);
        const record: AttemptRecord = {
          command: 'x',
          argv: ['x'],
          cwd: '/',
          service_pid: 1,
          startedAt: Date.now(),
          durationMs: 1,
          exitCode: null,
          signal: null,
          timedOut: false,
          failure: null,
          message: 'spawned',
        };
        bus.emit({ type: 'service.attempt', service: s.name, stage: s.stage, attempt: 1, ok: true, record });
        await new Promise((resolve) => setTimeout(resolve, s.name === 'db' ? 200 : 10));
        order.push(`${s.name} healthy`);
        return { result: 'healthy', attempts: 1, durationMs: 1, pid: null };
      },
    });
    expect(outcome.result).toBe('succeeded');
    expect(order).toEqual(['db starts', 'api starts', 'api healthy', 'db healthy']);
  });

  it('max_failures: a failure within the budget lets later stages run; one past it halts', async () => {
    const stages = (budget: number) => {
      const plan = planOf([
        { name: 'one', services: [service('a', 'one'), service('b', 'one')] },
        { name: 'two', services: [service('c', 'two')] },
      ]);
      plan.stages[0]!.max_failures = { written: budget, count: budget };
      return plan;
    };
    const within = await run(stages(1), { a: 'failed' });
    expect(results(within)).toEqual({ a: 'failed', b: 'healthy', c: 'healthy' });
    expect(within.outcome).toMatchObject({ result: 'failed', halted: false });
    const past = await run(stages(1), { a: 'failed', b: 'failed' });
    expect(results(past)).toEqual({ a: 'failed', b: 'failed', c: 'skipped' });
    expect(past.outcome).toMatchObject({ result: 'failed', halted: true });
  });
});
