import { describe, expect, it } from 'vitest';
import type {
  ResolvedDependency,
  ResolvedPlan,
  ResolvedService,
  ResolvedStage,
} from '../../src/plan/model.js';
import { barrierGroups, Slots } from '../../src/run/engine/slots.js';
import { EventBus, type RunEvent } from '../../src/run/events.js';
import { serviceOf } from '../helpers/resolved.js';

/**
 * The scheduler's books on their own: caps, blocking, and when stages open and close. The order
 * in which services start is the scheduler's (test/run/scheduler.test.ts).
 */
const service = (name: string, stage: string, options: { depends_on?: string[]; host?: string } = {}) =>
  serviceOf(name, stage, { depends_on: options.depends_on ?? [], host: options.host ?? null });

function planOf(
  stages: { name: string; computed?: boolean; concurrency?: number; services: ResolvedService[] }[],
): ResolvedPlan {
  return {
    version: 1,
    name: 'test',
    description: null,
    secrets: [],
    stages: stages.map(
      (s): ResolvedStage => ({
        name: s.name,
        description: null,
        approval: false,
        approval_rule: null,
        concurrency: s.concurrency ?? null,
        computed: s.computed ?? false,
        services: s.services.map((x) => x.name),
      }),
    ),
    hosts: {},
    services: Object.fromEntries(stages.flatMap((s) => s.services).map((x) => [x.name, x])),
  };
}

function books(plan: ResolvedPlan, caps: { concurrency?: number; hosts?: Map<string, number> } = {}) {
  const bus = new EventBus();
  const events: RunEvent[] = [];
  bus.subscribe((event) => events.push(event));
  const slots = new Slots(plan, bus, { concurrency: caps.concurrency ?? 4, hosts: caps.hosts });
  const slot = (name: string) => slots.members(plan.stages).find((s) => s.service.name === name)!;
  const said = () =>
    events.map((e) =>
      'service' in e ? `${e.type}:${e.service}` : 'stage' in e ? `${e.type}:${e.stage}` : e.type,
    );
  return { slots, slot, events, said };
}

const healthy = { result: 'healthy', attempts: 1, durationMs: 5, pid: null } as const;
const failed = {
  result: 'failed',
  attempts: 2,
  durationMs: 7,
  reason: 'start-failed',
  message: 'exited with code 1',
} as const;

describe('SPEC 2 Stages: what runs together', () => {
  it('each declared stage is a barrier of its own; computed waves in a row run as one group', () => {
    const plan = planOf([
      { name: 'one', services: [] },
      { name: 'two', services: [] },
    ]);
    expect(barrierGroups(plan.stages).map((g) => g.map((s) => s.name))).toEqual([['one'], ['two']]);
    const waves = planOf([
      { name: 'wave-1', computed: true, services: [] },
      { name: 'wave-2', computed: true, services: [] },
      { name: 'wave-3', computed: true, services: [] },
    ]);
    expect(barrierGroups(waves.stages).map((g) => g.map((s) => s.name))).toEqual([
      ['wave-1', 'wave-2', 'wave-3'],
    ]);
  });
});

describe('SPEC 4 concurrency caps', () => {
  it('a declared stage runs within the smaller of its cap and the global one; waves within the global one', () => {
    const plan = planOf([
      { name: 'tight', concurrency: 2, services: [] },
      { name: 'loose', concurrency: 9, services: [] },
      { name: 'open', services: [] },
    ]);
    const { slots } = books(plan, { concurrency: 3 });
    expect(plan.stages.map((stage) => slots.concurrency([stage]))).toEqual([2, 3, 3]);
    const waves = planOf([
      { name: 'wave-1', computed: true, concurrency: 1, services: [] },
      { name: 'wave-2', computed: true, services: [] },
    ]);
    expect(books(waves, { concurrency: 5 }).slots.concurrency(waves.stages)).toBe(5);
  });

  it("a host's cap counts its services queued or running, until each is released", () => {
    const plan = planOf([
      {
        name: 's',
        services: [
          service('a', 's', { host: 'db1' }),
          service('b', 's', { host: 'db1' }),
          service('c', 's', { host: 'web1' }),
          service('d', 's'),
        ],
      },
    ]);
    const { slots, slot } = books(plan, { hosts: new Map([['db1', 1]]) });
    expect(slots.ready(slot('a'))).toBe(true);
    slots.take(slot('a'));
    expect(slot('a').state).toBe('queued');
    // db1 is full: b is not queued, while a host without a cap and a local service always are.
    expect(slots.ready(slot('b'))).toBe(false);
    expect(slots.ready(slot('c'))).toBe(true);
    expect(slots.ready(slot('d'))).toBe(true);
    slots.start(slot('a'));
    expect(slots.ready(slot('b'))).toBe(false);
    slots.settle(slot('a'), healthy);
    slots.release(slot('a'));
    expect(slots.ready(slot('b'))).toBe(true);
  });

  it('a service is ready only once every dependency is healthy or already healthy', () => {
    const plan = planOf([
      {
        name: 's',
        services: [service('a', 's'), service('b', 's'), service('c', 's', { depends_on: ['a', 'b'] })],
      },
    ]);
    const { slots, slot } = books(plan);
    expect(slots.ready(slot('c'))).toBe(false);
    slots.settle(slot('a'), healthy);
    expect(slots.ready(slot('c'))).toBe(false);
    slots.settle(slot('b'), { result: 'already-healthy', attempts: 0, durationMs: 1 });
    expect(slots.ready(slot('c'))).toBe(true);
    expect(slots.healthyOrder).toEqual(['a']);
  });
});

describe('SPEC 4 step 7 a failure blocks its dependents', () => {
  it('blocks every transitive dependent not yet settled or running, naming the failed service', () => {
    const plan = planOf([
      {
        name: 'one',
        services: [
          service('db', 'one'),
          service('api', 'one', { depends_on: ['db'] }),
          service('cron', 'one', { depends_on: ['db'] }),
        ],
      },
      { name: 'two', services: [service('web', 'two', { depends_on: ['api'] }), service('docs', 'two')] },
    ]);
    const { slots, slot, events, said } = books(plan);
    slots.start(slot('cron'));
    slots.settle(slot('db'), failed);
    expect(said()).toEqual(['service.blocked:api', 'service.blocked:web']);
    expect(events.filter((e) => e.type === 'service.blocked').map((e) => e.by)).toEqual(['db', 'db']);
    expect(slot('cron').state).toBe('running');
    expect(slots.summaries()).toEqual({
      db: { stage: 'one', result: 'failed', attempts: 2, duration_ms: 7, reason: 'exited with code 1' },
      api: { stage: 'one', result: 'blocked', attempts: 0, duration_ms: 0 },
      cron: { stage: 'one', result: 'skipped', attempts: 0, duration_ms: 0 },
      web: { stage: 'two', result: 'blocked', attempts: 0, duration_ms: 0 },
      // Never reached: skipped, without a word of it so far.
      docs: { stage: 'two', result: 'skipped', attempts: 0, duration_ms: 0 },
    });
  });

  it('a blocked service of a computed wave opens its wave first; one of a later declared stage does not', () => {
    const waves = planOf([
      { name: 'wave-1', computed: true, services: [service('a', 'wave-1')] },
      { name: 'wave-2', computed: true, services: [service('b', 'wave-2', { depends_on: ['a'] })] },
    ]);
    const computed = books(waves);
    computed.slots.settle(computed.slot('a'), failed);
    expect(computed.said()).toEqual(['stage.started:wave-2', 'service.blocked:b']);

    const declared = planOf([
      { name: 'one', services: [service('a', 'one')] },
      { name: 'two', services: [service('b', 'two', { depends_on: ['a'] })] },
    ]);
    const barrier = books(declared);
    barrier.slots.settle(barrier.slot('a'), failed);
    expect(barrier.said()).toEqual(['service.blocked:b']);
  });
});

describe('SPEC 2 Stages: stage.started and stage.finished', () => {
  const plan = planOf([
    { name: 'one', services: [service('a', 'one'), service('b', 'one')] },
    { name: 'two', services: [service('c', 'two')] },
  ]);

  it('a stage opens once, with its place and its services', () => {
    const { slots, events } = books(plan);
    slots.openStage('two');
    slots.openStage('two');
    expect(events).toEqual([
      expect.objectContaining({ type: 'stage.started', stage: 'two', index: 2, count: 2, services: ['c'] }),
    ]);
  });

  it('closes once, when open and all its services are settled: succeeded only if all are up', () => {
    const { slots, slot, said, events } = books(plan);
    const [one, two] = plan.stages as [ResolvedStage, ResolvedStage];
    slots.settle(slot('c'), healthy);
    slots.closeStage(two, undefined);
    expect(said()).toEqual([]);
    slots.openStage('one');
    slots.settle(slot('a'), healthy);
    slots.closeStage(one, undefined);
    expect(said()).toEqual(['stage.started:one']);
    slots.skip(slot('b'), 'halted');
    slots.closeStage(one, undefined);
    slots.closeStage(one, undefined);
    expect(said()).toEqual(['stage.started:one', 'service.skipped:b', 'stage.finished:one']);
    expect(events.at(-1)).toMatchObject({ result: 'failed' });
  });

  it('a stage closed after the run stopped says why: interrupted or halted', () => {
    for (const why of ['interrupted', 'halted'] as const) {
      const { slots, slot, events } = books(plan);
      slots.openStage('two');
      slots.settle(slot('c'), healthy);
      slots.closeStage(plan.stages[1]!, why);
      expect(events.at(-1)).toMatchObject({ type: 'stage.finished', stage: 'two', result: why });
    }
  });

  it('a service skipped is said so; one left before a stage awaiting approval is not', () => {
    const { slots, slot, said } = books(plan);
    slots.skip(slot('a'), 'interrupted');
    slots.leave(slot('c'));
    expect(said()).toEqual(['service.skipped:a']);
    expect([slot('a').state, slot('c').state]).toEqual(['done', 'done']);
    expect(slots.summaries().c).toMatchObject({ result: 'skipped' });
  });
});

describe('SPEC 11 dependency conditions and failure budgets in the books', () => {
  const withDeps = (name: string, stage: string, dependencies: ResolvedDependency[]) =>
    serviceOf(name, stage, { depends_on: dependencies.map((d) => d.service), dependencies });
  const on = (service: string, condition: 'healthy' | 'started', required = true): ResolvedDependency => ({
    service,
    condition,
    required,
  });

  it('`started`: ready once the dependency started, before it is healthy; `healthy` still waits', () => {
    const plan = planOf([
      {
        name: 's',
        services: [
          service('db', 's'),
          withDeps('api', 's', [on('db', 'started')]),
          withDeps('web', 's', [on('db', 'healthy')]),
        ],
      },
    ]);
    const { slots, slot } = books(plan);
    slots.start(slot('db'));
    expect(slots.ready(slot('api'))).toBe(false);
    // Someone waits for exactly this: the scheduler looks again.
    expect(slots.markStarted('db')).toBe(true);
    expect(slots.markStarted('db')).toBe(false);
    expect(slots.ready(slot('api'))).toBe(true);
    expect(slots.ready(slot('web'))).toBe(false);
  });

  it('a `started` dependency that fails: a running dependent is told, not blocked; a pending one is blocked', () => {
    const plan = planOf([
      {
        name: 's',
        services: [
          service('db', 's'),
          withDeps('api', 's', [on('db', 'started')]),
          withDeps('cron', 's', [on('db', 'started')]),
          withDeps('web', 's', [on('api', 'healthy')]),
        ],
      },
    ]);
    const { slots, slot, events, said } = books(plan);
    slots.markStarted('db');
    slots.take(slot('api'));
    slots.start(slot('api'));
    slots.settle(slot('db'), failed);
    expect(said()).toEqual(['service.warning:api', 'service.blocked:cron']);
    expect(events[0]).toMatchObject({ cause: 'started-dependency-failed', dependency: 'db' });
    expect(slot('api').state).toBe('running');
    expect(slot('web').state).toBe('pending');
  });

  it('`required: false`: a failed or blocked dependency does not block; the dependent goes with a warning', () => {
    const plan = planOf([
      {
        name: 's',
        services: [
          service('cache', 's'),
          withDeps('feed', 's', [on('cache', 'healthy')]),
          withDeps('api', 's', [on('cache', 'healthy', false), on('feed', 'healthy', false)]),
          withDeps('strict', 's', [on('cache', 'healthy')]),
        ],
      },
    ]);
    const { slots, slot, events, said } = books(plan);
    slots.settle(slot('cache'), failed);
    expect(said().sort()).toEqual(['service.blocked:feed', 'service.blocked:strict']);
    expect(slots.ready(slot('api'))).toBe(true);
    slots.take(slot('api'));
    expect(
      events.slice(2).map((e) => (e.type === 'service.warning' ? [e.cause, e.dependency] : e.type)),
    ).toEqual([
      ['optional-dependency-failed', 'cache'],
      ['optional-dependency-blocked', 'feed'],
    ]);
  });

  it('max_failures: critical failures up to the budget do not halt, the next does; non-critical ones do not count', () => {
    const plan = planOf([
      {
        name: 's',
        services: [
          service('a', 's'),
          service('b', 's'),
          service('c', 's'),
          serviceOf('n', 's', { critical: false }),
        ],
      },
    ]);
    plan.stages[0]!.max_failures = { written: '50%', count: 2 };
    const { slots, slot, events } = books(plan);
    expect(slots.halts(slot('n'))).toBe(false);
    expect(slots.halts(slot('a'))).toBe(false);
    expect(slots.halts(slot('b'))).toBe(false);
    expect(slots.halts(slot('c'))).toBe(true);
    expect(events.map((e) => (e.type === 'service.warning' ? `${e.cause}:${e.service}` : e.type))).toEqual([
      'failure-tolerated:a',
      'failure-tolerated:b',
    ]);
  });

  it('without max_failures a critical failure halts at once', () => {
    const plan = planOf([{ name: 's', services: [service('a', 's')] }]);
    const { slots, slot } = books(plan);
    expect(slots.halts(slot('a'))).toBe(true);
  });
});
