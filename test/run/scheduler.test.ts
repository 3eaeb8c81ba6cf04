import { describe, expect, it } from 'vitest';
import type { ResolvedPlan, ResolvedService, ResolvedStage } from '../../src/plan/model.js';
import { EventBus, type RunEvent } from '../../src/run/events.js';
import { runStages } from '../../src/run/scheduler.js';
import type { ServiceOutcome } from '../../src/run/service-runner.js';

/**
 * The scheduler's decisions, with services whose outcome the test chooses. (Starting real
 * processes is the end-to-end tests' job; here the order and the caps are the subject.)
 */
function service(name: string, stage: string, depends_on: string[] = [], critical = true): ResolvedService {
  return {
    name,
    host: null,
    stage,
    description: null,
    depends_on,
    critical,
    skip_if_healthy: true,
    timeout_ms: 1000,
    retries: 0,
    retry_delay_ms: 0,
    start: null,
    stop: null,
    health: {
      checks: [],
      interval_ms: 1,
      start_interval_ms: 1,
      timeout_ms: 1,
      start_period_ms: 0,
      retries: 1,
      success_threshold: 1,
    },
  };
}

function planOf(
  stages: { name: string; approval?: boolean; concurrency?: number; services: ResolvedService[] }[],
): ResolvedPlan {
  const resolvedStages: ResolvedStage[] = stages.map((s) => ({
    name: s.name,
    description: null,
    approval: s.approval ?? false,
    concurrency: s.concurrency ?? null,
    computed: false,
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
  options: { concurrency?: number; approve?: boolean; abortAfter?: string } = {},
) {
  const bus = new EventBus();
  const events: RunEvent[] = [];
  bus.subscribe((event) => events.push(event));
  const starts: string[] = [];
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
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight -= 1;
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
  return { outcome, events, starts, maxInFlight };
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
});
