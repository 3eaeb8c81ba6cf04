import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedCommand, ResolvedService } from '../../src/plan/model.js';
import { adoptDaemon, settleInFlight } from '../../src/run/engine/adopt.js';
import type { ServiceContext } from '../../src/run/engine/service-context.js';
import { EventBus, type RunEvent } from '../../src/run/events.js';
import { Places } from '../../src/run/places/places.js';
import { markEnv, newMark } from '../../src/run/places/process/escaped.js';
import { directLauncher } from '../../src/run/places/process/launch.js';
import type { ServiceState } from '../../src/run/state/journal/state.js';
import { ensurePlanState } from '../../src/run/state/state-dir.js';
import { freePorts } from '../helpers/ports.js';
import { isAlive, killAllWith } from '../helpers/processes.js';
import { command, serviceOf } from '../helpers/resolved.js';
import { useTempDir } from '../helpers/tmp.js';

/**
 * Resume's adoption (SPEC section 5): what a run killed mid-start left running is taken over, not
 * started a second time next to itself. Real processes, a real state dir, this machine's place.
 */
const tempDir = useTempDir();
const markers: string[] = [];
afterEach(() => {
  for (const marker of markers.splice(0)) killAllWith(marker);
});

/** The service `web`, started by `start`, healthy when `port` accepts connections. */
function service(
  start: ResolvedCommand,
  port: number,
  extra: Partial<ResolvedService> = {},
): ResolvedService {
  return serviceOf('web', 'apps', {
    skip_if_healthy: false,
    timeout_ms: 3000,
    start,
    health: {
      checks: [{ kind: 'tcp', host: '127.0.0.1', port }],
      interval_ms: 100,
      start_interval_ms: 50,
      timeout_ms: 500,
      start_period_ms: 0,
      retries: 3,
      success_threshold: 1,
    },
    ...extra,
  });
}

/** A context over a fresh state dir; `events` collects what the bus emitted. */
function context(signal = new AbortController().signal) {
  const dir = tempDir();
  markers.push(dir);
  const bus = new EventBus();
  const events: RunEvent[] = [];
  bus.subscribe((event) => events.push(event));
  const places = new Places({
    plan: { name: 'adopt', hosts: {} },
    planDir: dir,
    state: ensurePlanState(join(dir, 'state'), 'adopt'),
    secrets: [],
    launcher: directLauncher,
  });
  const ctx: ServiceContext = { bus, places, signal, secrets: [] };
  return { dir, ctx, events };
}

/** A daemon listening on `port` when `listen`, else just running; its argv carries `dir`. */
const server = (dir: string, port: number, listen = true) =>
  command(
    [
      process.execPath,
      '-e',
      listen ? `require('net').createServer().listen(${port}, '127.0.0.1')` : 'setInterval(() => {}, 1000)',
      dir,
    ],
    { daemon: true },
  );

async function spawnLeftOver(ctx: ServiceContext, s: ResolvedService) {
  const spawned = await ctx.places.here.spawnDaemon(s.name, s.start!, {
    mark: newMark(),
    deadline: Date.now() + 5000,
    signal: new AbortController().signal,
  });
  if (!spawned.ok) throw new Error(spawned.record.message);
  spawned.daemon.release();
  return spawned.daemon.pid;
}

describe('adopting a daemon on resume', () => {
  it('adopts nothing when no daemon of the service is alive', async () => {
    const { dir, ctx, events } = context();
    const [port] = (await freePorts(1)) as [number];
    expect(await adoptDaemon(service(server(dir, port), port), 1, ctx)).toBeUndefined();
    expect(events).toEqual([]);
  });

  it('verifies a daemon left running and reports it healthy, the same process, resumed', async () => {
    const { dir, ctx, events } = context();
    const [port] = (await freePorts(1)) as [number];
    const s = service(server(dir, port), port, { timeout_ms: 15_000 });
    // A loaded machine takes a while to start node: failed rounds before it listens do not count.
    s.health.start_period_ms = 10_000;
    const pid = await spawnLeftOver(ctx, s);
    const outcome = await adoptDaemon(s, 2, ctx);
    expect(outcome).toMatchObject({ result: 'healthy', attempts: 2, pid });
    expect(events.at(-1)).toMatchObject({
      type: 'service.healthy',
      service: 'web',
      service_pid: pid,
      resumed: true,
    });
    expect(isAlive(pid)).toBe(true);
  });

  it('stops a daemon left running that does not become healthy, so that the caller starts it afresh', async () => {
    const { dir, ctx } = context();
    const [port] = (await freePorts(1)) as [number];
    const s = service(server(dir, port, false), port, { timeout_ms: 1000 });
    const pid = await spawnLeftOver(ctx, s);
    expect(await adoptDaemon(s, 1, ctx)).toBeUndefined();
    expect(isAlive(pid)).toBe(false);
    expect(await ctx.places.here.daemonPid('web')).toBeNull();
  });

  it('stops, without rounds, a daemon left running whose only checks are `log` (its ready line may be long gone)', async () => {
    const { dir, ctx, events } = context();
    const [port] = (await freePorts(1)) as [number];
    const s = service(server(dir, port, false), port, { timeout_ms: 60_000 });
    s.health.checks = [{ kind: 'log', matches: 'ready' }];
    const pid = await spawnLeftOver(ctx, s);
    expect(await adoptDaemon(s, 1, ctx)).toBeUndefined();
    expect(isAlive(pid)).toBe(false);
    expect(events.filter((event) => event.type === 'service.probe')).toEqual([]);
  });
});

describe('a one-shot still running from the interrupted run', () => {
  const interrupted = (mark: string): ServiceState => ({
    stage: 'apps',
    result: 'running',
    attempts: 1,
    duration_ms: 0,
    started_at: null,
    finished_at: null,
    reason: null,
    first_attempt_at: null,
    mark,
    attempt_at: new Date().toISOString(),
  });

  /** A process carrying the attempt's mark, as the interrupted run's one-shot would. */
  async function leftOver(ctx: ServiceContext, dir: string, seconds: number) {
    const mark = newMark();
    const record = ctx.places.here.run(
      command([process.execPath, '-e', `setTimeout(() => {}, ${seconds * 1000})`, dir], {
        env: markEnv(mark),
      }),
      null,
    );
    return { mark, record };
  }

  it('is waited for until it ends, then the caller may run it again', async () => {
    const { dir, ctx, events } = context();
    const { mark, record } = await leftOver(ctx, dir, 0.5);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const oneShot = service(command(['true']), 1, { timeout_ms: 10_000 });
    expect(await settleInFlight(oneShot, interrupted(mark), ctx)).toBe(true);
    expect(events.map((e) => (e.type === 'service.in-flight' ? e.phase : e.type))).toEqual([
      'waiting',
      'ended',
    ]);
    expect((await record).failure).toBeNull();
  });

  it('is stopped once its deadline has passed: never two copies at once', async () => {
    const { dir, ctx, events } = context();
    const { mark, record } = await leftOver(ctx, dir, 30);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const oneShot = service(command(['true']), 1, { timeout_ms: 600 });
    expect(await settleInFlight(oneShot, interrupted(mark), ctx)).toBe(true);
    expect(events.map((e) => (e.type === 'service.in-flight' ? e.phase : e.type))).toEqual([
      'waiting',
      'stopped',
    ]);
    expect(ctx.places.here.findMarked(mark)).toEqual([]);
    expect((await record).failure).not.toBeNull();
  });

  it('needs nothing when the interrupted attempt left no mark', async () => {
    const { ctx, events } = context();
    const oneShot = service(command(['true']), 1);
    expect(await settleInFlight(oneShot, { ...interrupted('x'), mark: null }, ctx)).toBe(true);
    expect(events).toEqual([]);
  });
});
