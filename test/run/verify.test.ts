import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedHealth } from '../../src/plan/model.js';
import { verifyHealth } from '../../src/run/engine/verify.js';
import { LocalPlace } from '../../src/run/places/local.js';
import { directLauncher } from '../../src/run/places/process/launch.js';
import { freePorts } from '../helpers/ports.js';

/** Where exec checks would run (these tests probe tcp). */
const here = new LocalPlace({ planDir: '/', secrets: [], launcher: directLauncher });

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

function listen(port: number): Promise<void> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.destroy());
    servers.push(server);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

function health(port: number, timing: Partial<ResolvedHealth> = {}): ResolvedHealth {
  return {
    checks: [{ kind: 'tcp', host: '127.0.0.1', port }],
    interval_ms: 2000,
    start_interval_ms: 100,
    timeout_ms: 1000,
    start_period_ms: 0,
    retries: 30,
    success_threshold: 1,
    ...timing,
  };
}

interface Round {
  at: number;
  ok: boolean;
  counted: boolean;
}

async function verify(
  h: ResolvedHealth,
  extra: {
    deadlineMs?: number;
    signal?: AbortSignal;
    exited?: Promise<{ exitCode: number | null; signal: string | null }>;
  } = {},
) {
  const rounds: Round[] = [];
  const start = Date.now();
  const outcome = await verifyHealth({
    health: h,
    place: here,
    startedAt: start,
    deadline: start + (extra.deadlineMs ?? 60_000),
    signal: extra.signal ?? new AbortController().signal,
    ...(extra.exited ? { exited: extra.exited } : {}),
    onRound: (_round, result, counted) => rounds.push({ at: Date.now() - start, ok: result.ok, counted }),
  });
  return { outcome, rounds, elapsed: Date.now() - start };
}

describe('SPEC 2 Health checks: timing', () => {
  it('before a round passes, the gap starts at start_interval and doubles up to interval', async () => {
    const [port] = await freePorts(1);
    const { outcome, rounds } = await verify(
      health(port!, { start_interval_ms: 50, interval_ms: 300, retries: 6 }),
    );
    expect(outcome.kind).toBe('unhealthy');
    const gaps = rounds.slice(1).map((r, i) => r.at - rounds[i]!.at);
    // 50, 100, 200, then capped at 300: each gap within scheduling noise of the schedule.
    const expected = [50, 100, 200, 300, 300];
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(expected[i]!);
      expect(gap).toBeLessThan(expected[i]! + 250);
    });
  });

  it('the first round runs at once, and a service is healthy soon after its port opens', async () => {
    const [port] = await freePorts(1);
    setTimeout(() => void listen(port!), 250);
    const { outcome, rounds, elapsed } = await verify(health(port!));
    expect(rounds[0]!.at).toBeLessThan(50);
    expect(outcome.kind).toBe('healthy');
    // Rounds at about 0, 100, 300: seen at the 300 ms round, long before a 2 s interval.
    expect(elapsed).toBeLessThan(1500);
  });

  it('once a round has passed, rounds run every interval (success_threshold 2)', async () => {
    const [port] = await freePorts(1);
    await listen(port!);
    const { outcome, rounds } = await verify(
      health(port!, { interval_ms: 250, start_interval_ms: 20, success_threshold: 2 }),
    );
    expect(outcome).toEqual({ kind: 'healthy', rounds: 2 });
    expect(rounds[1]!.at - rounds[0]!.at).toBeGreaterThanOrEqual(250);
  });

  it('failed rounds inside start_period do not count', async () => {
    const [port] = await freePorts(1);
    const { outcome, rounds } = await verify(
      health(port!, { start_interval_ms: 50, interval_ms: 50, start_period_ms: 300, retries: 2 }),
    );
    expect(outcome.kind).toBe('unhealthy');
    const uncounted = rounds.filter((r) => !r.counted);
    expect(uncounted.length).toBeGreaterThanOrEqual(4);
    expect(uncounted.every((r) => r.at < 300)).toBe(true);
    expect(rounds.filter((r) => r.counted)).toHaveLength(2);
  });

  it('fails after `retries` failing rounds in a row', async () => {
    const [port] = await freePorts(1);
    const { outcome, rounds } = await verify(
      health(port!, { start_interval_ms: 10, interval_ms: 10, retries: 5 }),
    );
    expect(outcome.kind).toBe('unhealthy');
    expect(rounds).toHaveLength(5);
  });

  it('fails when the deadline passes first', async () => {
    const [port] = await freePorts(1);
    const { outcome, elapsed } = await verify(health(port!, { interval_ms: 100, retries: 1000 }), {
      deadlineMs: 400,
    });
    expect(outcome.kind).toBe('deadline');
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(1000);
  });

  it('ends at once when the daemon exits', async () => {
    const [port] = await freePorts(1);
    const exited = new Promise<{ exitCode: number | null; signal: string | null }>((resolve) =>
      setTimeout(() => resolve({ exitCode: 2, signal: null }), 150),
    );
    const { outcome, elapsed } = await verify(health(port!, { interval_ms: 1000 }), { exited });
    expect(outcome).toMatchObject({ kind: 'daemon-exited', exitCode: 2 });
    expect(elapsed).toBeLessThan(900);
  });

  it('ends when the run is interrupted', async () => {
    const [port] = await freePorts(1);
    const controller = new AbortController();
    setTimeout(() => controller.abort('SIGINT'), 100);
    const { outcome, elapsed } = await verify(health(port!, { interval_ms: 1000 }), {
      signal: controller.signal,
    });
    expect(outcome.kind).toBe('interrupted');
    expect(elapsed).toBeLessThan(900);
  });

  it('a service with no checks is healthy at once', async () => {
    const { outcome } = await verify({ ...health(1), checks: [] });
    expect(outcome).toEqual({ kind: 'healthy', rounds: 0 });
  });
});
