import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { hasStackTrace, runCli } from '../helpers/cli.js';
import { events } from '../helpers/e2e.js';
import {
  type Certificates,
  dnsmasq,
  grpcHealthServer,
  httpServer,
  makeCertificates,
  type Running,
  tlsServer,
} from '../helpers/net-servers.js';
import { parseStrictJson } from '../helpers/strict-json.js';
import { useTempDir, writeFile } from '../helpers/tmp.js';

/**
 * SPEC section 11's network probes through the real CLI, against real servers on 127.0.0.1: a
 * grpc-js server implementing grpc.health.v1, TLS servers with openssl-made certificates, and
 * dnsmasq. The services have no start command: apply only probes them (a verify-only service).
 */
const tempDir = useTempDir();
const running: Running[] = [];
afterAll(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop()));
});
async function started(server: Promise<Running>): Promise<Running> {
  const value = await server;
  running.push(value);
  return value;
}

/** Fails after one failing round: each test is about what a round says, not about waiting. */
const once = (check: Record<string, unknown>) => ({ checks: [check], retries: 1, timeout: '2s' });

/** Every service non-critical: one failing does not keep the others from being probed. */
function writePlan(dir: string, services: Record<string, Record<string, unknown>>): void {
  const all = Object.fromEntries(
    Object.entries(services).map(([name, service]) => [name, { critical: false, ...service }]),
  );
  writeFile(dir, 'plan.yaml', JSON.stringify({ version: 1, name: 'net', services: all }, null, 2));
}

const apply = (dir: string) =>
  runCli(['apply', 'plan.yaml', '--log-format', 'json', '--state-dir', 'state'], {
    cwd: dir,
    timeoutMs: 60_000,
  });

/** The result and failure reason of each service, from apply's JSON events. */
function outcomes(stdout: string): Record<string, { result: string; reason?: string }> {
  const out: Record<string, { result: string; reason?: string }> = {};
  for (const event of events(stdout)) {
    if (!event.service) continue;
    if (event.event === 'service.healthy' || event.event === 'service.already-healthy')
      out[event.service] = { result: 'healthy' };
    if (event.event === 'service.failed')
      out[event.service] = { result: 'failed', reason: `${event.reason}: ${event.message}` };
  }
  return out;
}

describe('SPEC 11: grpc checks through restore apply', () => {
  it('a SERVING server is healthy; NOT_SERVING, an unknown service and an HTTP/1.1 port fail, saying why', async () => {
    const health = await started(grpcHealthServer({ '': 1, 'pay.v1.Down': 2 }));
    const http = await started(httpServer());
    const dir = tempDir();
    writePlan(dir, {
      serving: { health: once({ grpc: { port: health.port } }) },
      down: { health: once({ grpc: { port: health.port, service: 'pay.v1.Down' } }) },
      unknown: { health: once({ grpc: { host: '127.0.0.1', port: health.port, service: 'nope.v1.X' } }) },
      http1: { health: once({ grpc: { port: http.port } }) },
      tlsplain: { health: once({ grpc: { port: http.port, tls: true } }) },
    });
    const began = Date.now();
    const result = await apply(dir);
    expect(Date.now() - began).toBeLessThan(20_000);
    expect(result.code, result.stderr).toBe(EXIT.failed);
    const got = outcomes(result.stdout);
    expect(got.serving).toEqual({ result: 'healthy' });
    expect(got.down?.reason).toContain('expected SERVING, got NOT_SERVING');
    expect(got.unknown?.reason).toContain('expected SERVING, got SERVICE_UNKNOWN');
    expect(got.http1?.reason).toMatch(
      /grpc 127\.0\.0\.1:\d+: expected SERVING, got UNAVAILABLE: not a gRPC server \(it does not speak HTTP\/2\)/,
    );
    expect(got.tlsplain?.reason).toContain(
      'expected SERVING, got UNAVAILABLE: not TLS (wrong version number)',
    );
    // grpc-js sends 127.0.0.1 as SNI; node's DEP0123 warning about it must not reach stderr.
    expect(result.stderr).not.toContain('DeprecationWarning');
    expect(hasStackTrace(result.stderr)).toBe(false);
  });
});

describe('SPEC 11: tls checks through restore apply and restore check', () => {
  let certs: Certificates;
  let certDir: string;
  beforeAll(() => {
    certDir = mkdtempSync(join(tmpdir(), 'restore-test-'));
    certs = makeCertificates(certDir);
  }, 60_000);
  afterAll(() => rmSync(certDir, { recursive: true, force: true }));

  it('a trusted, matching, long-lived certificate is healthy; each other case fails with its reason', async () => {
    const good = await started(tlsServer(certs.good.key, certs.good.cert));
    const expiring = await started(tlsServer(certs.expiring.key, certs.expiring.cert));
    const wrong = await started(tlsServer(certs.wrongName.key, certs.wrongName.cert));
    const self = await started(tlsServer(certs.selfSigned.key, certs.selfSigned.cert));
    const plain = await started(httpServer());
    const dir = tempDir();
    writeFileSync(join(dir, 'ca.pem'), readCa(certs));
    writeFileSync(join(dir, 'not-pem.txt'), 'this is not a certificate\n');
    writePlan(dir, {
      good: { health: once({ tls: { port: good.port, ca: 'ca.pem', servername: 'localhost' } }) },
      expiring: { health: once({ tls: { port: expiring.port, ca: 'ca.pem' } }) },
      wrong: { health: once({ tls: { port: wrong.port, ca: 'ca.pem' } }) },
      self: { health: once({ tls: { port: self.port } }) },
      plain: { health: once({ tls: { port: plain.port } }) },
      badca: { health: once({ tls: { port: good.port, ca: 'not-pem.txt' } }) },
    });
    const result = await apply(dir);
    expect(result.code, result.stderr).toBe(EXIT.failed);
    const got = outcomes(result.stdout);
    expect(got.good).toEqual({ result: 'healthy' });
    expect(got.expiring?.reason).toMatch(/expires in [45] days \(.*\), expected at least 14/);
    expect(got.wrong?.reason).toContain(
      'name mismatch: expected 127.0.0.1, the certificate holds other.example',
    );
    expect(got.self?.reason).toContain(
      'self-signed certificate (CN=127.0.0.1), not trusted by the system roots',
    );
    expect(got.plain?.reason).toMatch(/tls 127\.0\.0\.1:\d+: not TLS/);
    expect(got.badca?.reason).toContain('ca file not-pem.txt is not PEM');
    expect(hasStackTrace(result.stderr)).toBe(false);
  });

  it('restore check says whether each tls `ca` file holds PEM certificates; validate does not read it', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ca.pem'), readCa(certs));
    writeFileSync(join(dir, 'not-pem.txt'), 'this is not a certificate\n');
    writePlan(dir, {
      good: { health: [{ tls: { port: 1, ca: 'ca.pem' } }] },
      bad: { health: [{ tls: { port: 1, ca: 'not-pem.txt' } }] },
      gone: { health: [{ tls: { port: 1, ca: 'missing.pem' } }] },
    });
    expect((await runCli(['validate', 'plan.yaml'], { cwd: dir })).code).toBe(EXIT.ok);
    const result = await runCli(['check', 'plan.yaml', '--format', 'json'], { cwd: dir, timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(EXIT.failed);
    const findings = (
      parseStrictJson(result.stdout) as { service?: string; check: string; level: string; message: string }[]
    ).filter((finding) => finding.check === 'tls-ca');
    // Services in start order, ties by name.
    expect(findings).toEqual([
      {
        service: 'bad',
        check: 'tls-ca',
        level: 'error',
        message: 'ca file not-pem.txt is not PEM: no -----BEGIN CERTIFICATE----- block (tls check)',
      },
      {
        service: 'gone',
        check: 'tls-ca',
        level: 'error',
        message: 'ca file missing.pem: no such file (tls check)',
      },
      {
        service: 'good',
        check: 'tls-ca',
        level: 'ok',
        message: 'ca file ca.pem holds PEM certificates (tls check)',
      },
    ]);
  });
});

function readCa(certs: Certificates): string {
  return readFileSync(certs.caFile, 'utf8');
}

describe('SPEC 11: dns checks through restore plan --live and restore apply', () => {
  it('a match is healthy; a mismatch and NXDOMAIN are not, with what was expected and what came', async () => {
    const dnsDir = tempDir();
    const dns = await started(
      dnsmasq(dnsDir, '127.0.0.7 svc.test\n127.0.0.8 two.test\n127.0.0.9 two.test\n'),
    );
    const server = `127.0.0.1:${dns.port}`;
    const dir = tempDir();
    writePlan(dir, {
      match: { health: once({ dns: { name: 'two.test', expect: ['127.0.0.9', '127.0.0.8'], server } }) },
      mismatch: { health: once({ dns: { name: 'svc.test', expect: ['127.0.0.8'], server } }) },
      missing: { health: once({ dns: { name: 'nope.test', type: 'A', server } }) },
    });
    const live = await runCli(['plan', 'plan.yaml', '--live', '--format', 'json'], { cwd: dir });
    expect(live.code, live.stderr).toBe(EXIT.ok);
    const services = (
      JSON.parse(live.stdout) as {
        stages: { services: { name: string; live: { healthy: boolean; detail: string } }[] }[];
      }
    ).stages.flatMap((stage) => stage.services);
    const byName = Object.fromEntries(services.map((service) => [service.name, service.live]));
    expect(byName.match).toMatchObject({ healthy: true });
    expect(byName.mismatch).toMatchObject({
      healthy: false,
      detail: expect.stringContaining('expected 127.0.0.8, got 127.0.0.7'),
    });
    expect(byName.missing).toMatchObject({
      healthy: false,
      detail: expect.stringContaining('got NXDOMAIN (no such name)'),
    });

    const result = await apply(dir);
    expect(result.code).toBe(EXIT.failed);
    const got = outcomes(result.stdout);
    expect(got.match).toEqual({ result: 'healthy' });
    expect(got.mismatch?.reason).toContain(`dns A svc.test @${server}: expected 127.0.0.8, got 127.0.0.7`);
  });
});

describe('SPEC 2/11: validation of grpc, tls and dns checks', () => {
  it('a port out of range, an unknown dns type, a missing key and an unknown key: codes, positions, hints', async () => {
    const dir = tempDir();
    writeFile(
      dir,
      'plan.yaml',
      [
        'version: 1',
        'name: net',
        'services:',
        '  a:',
        '    health:',
        '      - grpc: { port: 70000 }',
        '      - dns: { name: db.test, type: AAA }',
        '      - dns: { type: A }',
        '      - tls: { port: 443, min_day: 3 }',
        '      - tls: { host: db.test }',
        '      - dns: { name: db.test, server: "db.internal:53" }',
        '',
      ].join('\n'),
    );
    const result = await runCli(['validate', 'plan.yaml', '--format', 'json'], { cwd: dir });
    expect(result.code).toBe(EXIT.invalid);
    const found = (
      parseStrictJson(result.stdout) as {
        line: number;
        column: number;
        code: string;
        message: string;
        hint?: string;
      }[]
    ).map(({ line, column, code, message, hint }) => ({ line, column, code, message, hint }));
    expect(found).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ line: 6, code: 'invalid-value' }),
        expect.objectContaining({ line: 7, code: 'invalid-value', hint: expect.stringContaining('"AAAA"') }),
        expect.objectContaining({ line: 8, code: 'missing-key', message: expect.stringContaining('name') }),
        expect.objectContaining({ line: 9, code: 'unknown-key', hint: expect.stringContaining('min_days') }),
        expect.objectContaining({ line: 10, code: 'missing-key', message: expect.stringContaining('port') }),
        expect.objectContaining({
          line: 11,
          code: 'invalid-value',
          hint: expect.stringContaining('[::1]:53'),
        }),
      ]),
    );
    for (const diagnostic of found) expect(diagnostic.column).toBeGreaterThan(0);
  });

  it('plan shows the new checks, in text and in JSON', async () => {
    const dir = tempDir();
    writePlan(dir, {
      api: {
        start: 'true',
        health: [
          { grpc: { port: 50051, service: 'pay.v1.Ledger', tls: true } },
          { tls: { host: 'api.test', port: 443, ca: 'ca.pem', min_days: 30 } },
          { dns: { name: 'api.test', type: 'MX', expect: ['10 mx.test'], server: '10.0.0.2:53' } },
        ],
      },
    });
    const text = await runCli(['plan', 'plan.yaml'], { cwd: dir });
    expect(text.code, text.stderr).toBe(EXIT.ok);
    expect(text.stdout).toContain('grpc 127.0.0.1:50051 over TLS serving "pay.v1.Ledger"');
    expect(text.stdout).toContain('tls api.test:443 name api.test, trusted by ca.pem, valid 30+ days');
    expect(text.stdout).toContain('dns MX api.test = 10 mx.test via 10.0.0.2:53');
    const json = JSON.parse(
      (await runCli(['plan', 'plan.yaml', '--format', 'json'], { cwd: dir })).stdout,
    ) as {
      stages: { services: { health: { checks: unknown[] } }[] }[];
    };
    expect(json.stages[0]!.services[0]!.health.checks).toEqual([
      { kind: 'grpc', host: '127.0.0.1', port: 50051, service: 'pay.v1.Ledger', tls: true },
      { kind: 'tls', host: 'api.test', port: 443, servername: 'api.test', ca: 'ca.pem', min_days: 30 },
      { kind: 'dns', name: 'api.test', type: 'MX', expect: ['10 mx.test'], server: '10.0.0.2:53' },
    ]);
  });
});

describe('SPEC 5/11: a failing network check never shows a secret', () => {
  it('a dns name taken from a secret is redacted in the output, the journal and the run log', async () => {
    const dnsDir = tempDir();
    const dns = await started(dnsmasq(dnsDir, '127.0.0.7 svc.test\n'));
    const dir = tempDir();
    const secret = 'zq8-hidden-zone';
    writeFile(
      dir,
      'plan.yaml',
      JSON.stringify({
        version: 1,
        name: 'net',
        secrets: ['ZONE'],
        services: {
          hidden: { health: once({ dns: { name: '${ZONE}.test', server: `127.0.0.1:${dns.port}` } }) },
        },
      }),
    );
    const result = await runCli(['apply', 'plan.yaml', '--state-dir', 'state'], {
      cwd: dir,
      env: { ZONE: secret },
      timeoutMs: 60_000,
    });
    expect(result.code).toBe(EXIT.failed);
    expect(result.stdout + result.stderr).toContain('[REDACTED].test, got NXDOMAIN');
    expect(result.stdout + result.stderr).not.toContain(secret);
    const runs = join(dir, 'state', 'net', 'runs');
    for (const file of readdirSync(runs))
      expect(readFileSync(join(runs, file), 'utf8')).not.toContain(secret);
  });
});
