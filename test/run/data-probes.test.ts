import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { logFollower } from '../../src/run/places/process/daemon.js';
import { OutputWatch } from '../../src/run/probes/log.js';
import { postgresCheck } from '../../src/run/probes/postgres.js';
import { redisCheck } from '../../src/run/probes/redis.js';
import { freePorts } from '../helpers/ports.js';

describe('SPEC 11: log checks keep a flag per pattern, not the lines', () => {
  it('a line matches once and stays matched for the attempt; a new attempt starts over', () => {
    const check = { kind: 'log' as const, matches: 'ready to accept connections' };
    const watch = new OutputWatch([check]);
    expect(watch.result(check)).toMatchObject({
      ok: false,
      detail: expect.stringContaining('no output yet'),
    });
    watch.line('starting');
    expect(watch.result(check).detail).toBe(
      'expected a line matching /ready to accept connections/: 1 line, none matching; last: "starting"',
    );
    watch.line('* ready to accept connections tcp');
    watch.line('later');
    expect(watch.result(check)).toMatchObject({ ok: true, kind: 'log' });
    watch.reset();
    expect(watch.result(check).ok).toBe(false);
  });

  it("a daemon's log is followed from its offset, whole lines only, a half-written line at the next look", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'restore-follow-'));
    try {
      const log = join(dir, 'svc.log');
      writeFileSync(log, 'an earlier run: ready\n');
      const read = logFollower(log, 22);
      expect(await read()).toEqual([]);
      appendFileSync(log, 'one\ntw');
      expect(await read()).toEqual(['one']);
      appendFileSync(log, 'o\n');
      expect(await read()).toEqual(['two']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SPEC 11: postgres and redis checks end within their timeout, whatever the other side does', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  /** A server that accepts and never says a word. */
  async function silent(): Promise<number> {
    const server = createServer((socket) => sockets.push(socket));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  }

  it('a silent server: each fails at its timeout, saying so', async () => {
    const port = await silent();
    // The clients load on first use; loading them is not what this measures.
    await Promise.all([import('pg'), import('ioredis')]);
    const started = Date.now();
    const [pg, redis] = await Promise.all([
      postgresCheck(
        { kind: 'postgres', host: '127.0.0.1', port, user: 'u', database: 'd', password_env: null },
        { timeoutMs: 500 },
      ),
      redisCheck({ kind: 'redis', host: '127.0.0.1', port, password_env: null }, { timeoutMs: 500 }),
    ]);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(pg).toMatchObject({ ok: false, kind: 'postgres' });
    expect(redis).toMatchObject({ ok: false, kind: 'redis' });
    expect(pg.detail).toMatch(/timed out/);
    expect(redis.detail).toMatch(/timed out/);
  });

  it('a closed port is refused; an unset password_env fails before any connection', async () => {
    const [port] = (await freePorts(1)) as [number];
    const refused = await redisCheck(
      { kind: 'redis', host: '127.0.0.1', port, password_env: null },
      { timeoutMs: 2000 },
    );
    expect(refused.detail).toBe('connection refused');
    const pg = await postgresCheck(
      { kind: 'postgres', host: '127.0.0.1', port, user: null, database: 'postgres', password_env: 'NOPE' },
      { timeoutMs: 2000 },
      {},
    );
    expect(pg.detail).toBe('password_env NOPE is not set');
  });
});
