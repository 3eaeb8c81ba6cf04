import { describe, expect, it } from 'vitest';
import { checkPlanText } from '../../src/plan/load.js';

const load = (services: string, env: Record<string, string> = {}, hosts = '') =>
  checkPlanText('plan.yaml', `version: 1\nname: p\n${hosts}services:\n${services}`, env);

describe('SPEC 11: postgres, redis and log checks in the resolved plan', () => {
  it('postgres and redis take their default ports, 127.0.0.1, database postgres and no user', () => {
    const loaded = load(
      '  db:\n    health:\n      - postgres: {}\n      - redis: {}\n      - log: { matches: "ready" }\n',
    );
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.value.plan.services.db!.health.checks).toEqual([
      {
        kind: 'postgres',
        host: '127.0.0.1',
        port: 5432,
        user: null,
        database: 'postgres',
        password_env: null,
      },
      { kind: 'redis', host: '127.0.0.1', port: 6379, password_env: null },
      { kind: 'log', matches: 'ready' },
    ]);
  });

  it("on a service with a host, they default to the host's address; a port may come from a variable", () => {
    const loaded = load(
      '  db:\n    host: box\n    health:\n      - postgres: { port: "${PG_PORT:-5433}", user: app, database: app }\n      - redis: { port: "${R_PORT}" }\n',
      { R_PORT: '6380' },
      'hosts:\n  box: { address: 10.0.0.5 }\n',
    );
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.value.plan.services.db!.health.checks).toEqual([
      { kind: 'postgres', host: '10.0.0.5', port: 5433, user: 'app', database: 'app', password_env: null },
      { kind: 'redis', host: '10.0.0.5', port: 6380, password_env: null },
    ]);
  });

  it("a password_env's value is a secret of the plan whether or not `secrets:` lists it; the digest never holds it", () => {
    const text = '  db:\n    health:\n      - redis: { password_env: R_PW }\n';
    const a = load(text, { R_PW: 'first-Secret' });
    const b = load(text, { R_PW: 'second-Secret' });
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    expect(a.value.secretValues).toContain('first-Secret');
    expect(a.value.digest).toBe(b.value.digest);
    expect(JSON.stringify(a.value.display)).not.toContain('first-Secret');
  });

  it('a log pattern that does not compile, a port out of range and a bad password_env name are errors at their place', () => {
    const loaded = load(
      '  db:\n    health:\n      - log: { matches: "(" }\n      - postgres: { port: "${P:-99999}" }\n      - redis: { password_env: "not a name" }\n',
    );
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    const found = loaded.error.map((d) => [d.line, d.code, d.message]);
    expect(found).toContainEqual([
      6,
      'invalid-value',
      expect.stringContaining('not a valid regular expression'),
    ]);
    expect(found).toContainEqual([
      7,
      'invalid-value',
      expect.stringContaining('"99999" is not a port number'),
    ]);
    expect(found.some(([line]) => line === 8)).toBe(true);
  });

  it('a check with two kinds names every kind it may hold', () => {
    const loaded = load('  db:\n    health:\n      - { redis: {}, log: { matches: x } }\n');
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.error.map((d) => d.message).join('\n')).toContain(
      'exactly one of http, tcp, exec, grpc, tls, dns, postgres, redis or log; this one has redis and log',
    );
  });
});
