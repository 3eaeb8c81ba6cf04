import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsCheck, GrpcCheck, TlsCheck } from '../../src/plan/model.js';
import { dnsCheck, normalize } from '../../src/run/probes/dns.js';
import { decodeResponse, encodeRequest, grpcCheck, unavailable } from '../../src/run/probes/grpc.js';
import { judge, tlsCheck } from '../../src/run/probes/tls.js';
import {
  type Certificates,
  dnsmasq,
  grpcHealthServer,
  httpServer,
  makeCertificates,
  type Running,
  silentTcpServer,
  tlsServer,
} from '../helpers/net-servers.js';
import { freePorts } from '../helpers/ports.js';

const limits = { timeoutMs: 3000 };
const running: Running[] = [];
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'restore-test-'));
});
afterAll(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop()));
  rmSync(dir, { recursive: true, force: true });
});
async function started(server: Promise<Running>): Promise<Running> {
  const value = await server;
  running.push(value);
  return value;
}

describe('SPEC 11: grpc checks ask grpc.health.v1.Health/Check for SERVING', () => {
  const grpc = (port: number, service = ''): GrpcCheck => ({
    kind: 'grpc',
    host: '127.0.0.1',
    port,
    service,
    tls: false,
  });
  let health: Running;
  beforeAll(async () => {
    health = await started(grpcHealthServer({ '': 1, 'pay.v1.Ledger': 1, 'pay.v1.Down': 2 }));
  });

  it('passes when the server, or the service asked about, is SERVING', async () => {
    expect(await grpcCheck(grpc(health.port), limits)).toMatchObject({
      kind: 'grpc',
      ok: true,
      detail: 'SERVING',
    });
    expect(await grpcCheck(grpc(health.port, 'pay.v1.Ledger'), limits)).toMatchObject({ ok: true });
  });

  it('fails on NOT_SERVING and on an unknown service, saying what was expected and what came', async () => {
    const down = await grpcCheck(grpc(health.port, 'pay.v1.Down'), limits);
    expect(down).toMatchObject({ ok: false, detail: 'expected SERVING, got NOT_SERVING' });
    const unknown = await grpcCheck(grpc(health.port, 'nope.v1.X'), limits);
    expect(unknown.ok).toBe(false);
    expect(unknown.detail).toMatch(/^expected SERVING, got SERVICE_UNKNOWN: .*"nope\.v1\.X"/);
  });

  it('fails on a server without the health service (UNIMPLEMENTED)', async () => {
    const bare = await started(grpcHealthServerWithout());
    const result = await grpcCheck(grpc(bare.port), limits);
    expect(result).toMatchObject({ ok: false });
    expect(result.detail).toMatch(/^expected SERVING, got UNIMPLEMENTED/);
  });

  it('fails within the timeout against an HTTP/1.1 server, and on a closed port', async () => {
    const http = await started(httpServer());
    const began = Date.now();
    const result = await grpcCheck(grpc(http.port), { timeoutMs: 1500 });
    expect(Date.now() - began).toBeLessThan(2500);
    expect(result).toMatchObject({
      ok: false,
      detail: 'expected SERVING, got UNAVAILABLE: not a gRPC server (it does not speak HTTP/2)',
    });
    const [closed] = await freePorts(1);
    expect((await grpcCheck(grpc(closed!), limits)).detail).toBe(
      'expected SERVING, got UNAVAILABLE: connection refused',
    );
  });

  it('honours an abort', async () => {
    const silent = await started(silentTcpServer());
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const result = await grpcCheck(grpc(silent.port), { timeoutMs: 10_000, signal: controller.signal });
    expect(result).toMatchObject({ ok: false, detail: 'aborted' });
    expect(result.durationMs).toBeLessThan(5000);
  });

  it("shortens grpc-js's UNAVAILABLE details to their cause", () => {
    expect(
      unavailable(
        'No connection established. Last error: Error: 80:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../x.c:350: . Resolution note:',
      ),
    ).toBe('not TLS (wrong version number)');
    expect(
      unavailable(
        'No connection established. Last error: read ETIMEDOUT (2026-12-02T02:29:28.074Z). Resolution note:',
      ),
    ).toBe('read ETIMEDOUT');
    expect(unavailable('Name resolution failed for target dns:db.invalid:1')).toBe('no such host');
  });

  it('encodes and decodes the two health messages', () => {
    expect(encodeRequest('')).toEqual(Buffer.alloc(0));
    expect(encodeRequest('a.b')).toEqual(Buffer.from([0x0a, 3, 0x61, 0x2e, 0x62]));
    expect(decodeResponse(Buffer.from([0x08, 1]))).toBe(1);
    expect(decodeResponse(Buffer.alloc(0))).toBe(0);
    // An unknown length-delimited field before the status is skipped.
    expect(decodeResponse(Buffer.from([0x12, 2, 0x41, 0x42, 0x08, 2]))).toBe(2);
  });
});

/** A gRPC server with no service at all: every call is UNIMPLEMENTED. */
async function grpcHealthServerWithout(): Promise<Running> {
  const grpc = await import('@grpc/grpc-js');
  const server = new grpc.Server();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { port, stop: async () => server.forceShutdown() };
}

describe('SPEC 11: tls checks judge the handshake, the chain, the name and the days left', () => {
  let certs: Certificates;
  const tls = (port: number, more: Partial<TlsCheck> = {}): TlsCheck => ({
    kind: 'tls',
    host: '127.0.0.1',
    port,
    servername: '127.0.0.1',
    ca: null,
    min_days: 14,
    ...more,
  });
  const at = () => ({ ...limits, planDir: dir });
  beforeAll(() => {
    certs = makeCertificates(dir);
  }, 60_000);

  it('passes with a chain trusted through `ca`, by address or by name', async () => {
    const server = await started(tlsServer(certs.good.key, certs.good.cert));
    const byAddress = await tlsCheck(tls(server.port, { ca: certs.caFile }), at());
    expect(byAddress).toMatchObject({ kind: 'tls', ok: true });
    expect(byAddress.detail).toMatch(/^valid for 36\d more days/);
    // A relative `ca` is the plan directory's.
    const byName = await tlsCheck(tls(server.port, { ca: 'ca.pem', servername: 'localhost' }), at());
    expect(byName).toMatchObject({ ok: true });
  });

  it('fails a certificate valid fewer than min_days days, saying how many are left', async () => {
    const server = await started(tlsServer(certs.expiring.key, certs.expiring.cert));
    const result = await tlsCheck(tls(server.port, { ca: certs.caFile }), at());
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(
      /^certificate of CN=127\.0\.0\.1 expires in [45] days \(\d{4}-\d\d-\d\d\), expected at least 14$/,
    );
    expect(await tlsCheck(tls(server.port, { ca: certs.caFile, min_days: 3 }), at())).toMatchObject({
      ok: true,
    });
  });

  it('fails a name mismatch, listing the names the certificate holds', async () => {
    const server = await started(tlsServer(certs.wrongName.key, certs.wrongName.cert));
    const result = await tlsCheck(tls(server.port, { ca: certs.caFile }), at());
    expect(result).toMatchObject({
      ok: false,
      detail: 'name mismatch: expected 127.0.0.1, the certificate holds other.example',
    });
  });

  it('fails a self-signed certificate without `ca`, and a chain the system roots do not trust', async () => {
    const self = await started(tlsServer(certs.selfSigned.key, certs.selfSigned.cert));
    expect(await tlsCheck(tls(self.port), at())).toMatchObject({
      ok: false,
      detail: 'self-signed certificate (CN=127.0.0.1), not trusted by the system roots',
    });
    const good = await started(tlsServer(certs.good.key, certs.good.cert));
    expect((await tlsCheck(tls(good.port), at())).detail).toBe(
      'the issuer of CN=127.0.0.1 is not trusted by the system roots',
    );
  });

  it('says "not TLS" for a plain HTTP port and for a silent TCP port, within the timeout', async () => {
    const http = await started(httpServer());
    const answered = await tlsCheck(tls(http.port), at());
    expect(answered.ok).toBe(false);
    expect(answered.detail).toMatch(/^not TLS/);
    const silent = await started(silentTcpServer());
    const began = Date.now();
    const quiet = await tlsCheck(tls(silent.port), { timeoutMs: 500, planDir: dir });
    expect(Date.now() - began).toBeLessThan(2000);
    expect(quiet.detail).toMatch(
      /^not TLS\? the port accepted a connection but no TLS handshake finished within 500ms/,
    );
  });

  it('judges expiry first: an expired certificate, and one not valid yet, say when', () => {
    const cert = {
      subject: { CN: 'api' },
      valid_from: 'Nov  1 00:00:00 2026 GMT',
      valid_to: 'Nov 29 00:00:00 2026 GMT',
      subjectaltname: 'DNS:api',
    } as unknown as Parameters<typeof judge>[1];
    const check = { servername: 'api', min_days: 14, ca: null };
    expect(judge(check, cert, 'CERT_HAS_EXPIRED', Date.parse('2026-12-02T12:00:00Z'))).toEqual([
      false,
      'certificate of CN=api expired 3 days ago (2026-11-29)',
    ]);
    expect(judge(check, cert, null, Date.parse('2026-10-30T00:00:00Z'))).toEqual([
      false,
      'certificate of CN=api is not valid before 2026-11-01',
    ]);
    expect(judge({ ...check, min_days: 0 }, cert, null, Date.parse('2026-11-28T00:00:00Z'))).toEqual([
      true,
      'valid for 1 more day, CN=api',
    ]);
  });

  it('fails with a clear reason when `ca` is not PEM or is missing', async () => {
    const server = await started(tlsServer(certs.good.key, certs.good.cert));
    writeFileSync(join(dir, 'not-pem.txt'), 'just some text\n');
    expect(await tlsCheck(tls(server.port, { ca: 'not-pem.txt' }), at())).toMatchObject({
      ok: false,
      detail: 'ca file not-pem.txt is not PEM: no -----BEGIN CERTIFICATE----- block',
    });
    expect((await tlsCheck(tls(server.port, { ca: 'missing.pem' }), at())).detail).toBe(
      'ca file missing.pem: no such file',
    );
  });
});

describe('SPEC 11: dns checks resolve a name, to exactly the values expected', () => {
  let server: Running;
  let at: string;
  const dns = (name: string, more: Partial<DnsCheck> = {}): DnsCheck => ({
    kind: 'dns',
    name,
    type: 'A',
    expect: null,
    server: at,
    ...more,
  });
  beforeAll(async () => {
    const dnsDir = mkdtempSync(join(dir, 'dns-'));
    server = await started(
      dnsmasq(dnsDir, '127.0.0.7 svc.test\n127.0.0.8 multi.test\n127.0.0.9 multi.test\n::1 six.test\n', [
        '--mx-host=mail.test,mx.test,10',
        '--txt-record=txt.test,hello world',
        '--srv-host=_sip._tcp.srv.test,sip.test,5060,0,5',
        '--cname=alias.test,svc.test',
      ]),
    );
    at = `127.0.0.1:${server.port}`;
  });

  it('passes when the name resolves, and when it resolves to exactly `expect` in any order', async () => {
    expect(await dnsCheck(dns('svc.test'), limits)).toMatchObject({
      kind: 'dns',
      ok: true,
      detail: '127.0.0.7',
    });
    expect(await dnsCheck(dns('multi.test', { expect: ['127.0.0.9', '127.0.0.8'] }), limits)).toMatchObject({
      ok: true,
    });
    expect(await dnsCheck(dns('six.test', { type: 'AAAA', expect: ['0:0::1'] }), limits)).toMatchObject({
      ok: true,
    });
    expect(await dnsCheck(dns('mail.test', { type: 'MX', expect: ['10 MX.test.'] }), limits)).toMatchObject({
      ok: true,
    });
    expect(await dnsCheck(dns('txt.test', { type: 'TXT', expect: ['hello world'] }), limits)).toMatchObject({
      ok: true,
    });
    expect(
      await dnsCheck(dns('_sip._tcp.srv.test', { type: 'SRV', expect: ['0 5 5060 sip.test'] }), limits),
    ).toMatchObject({ ok: true });
    expect(await dnsCheck(dns('alias.test', { type: 'CNAME', expect: ['svc.test'] }), limits)).toMatchObject({
      ok: true,
    });
  });

  it('fails a mismatch, a missing value or an extra one, saying both sides', async () => {
    expect(await dnsCheck(dns('svc.test', { expect: ['127.0.0.8'] }), limits)).toMatchObject({
      ok: false,
      detail: 'expected 127.0.0.8, got 127.0.0.7',
    });
    expect((await dnsCheck(dns('multi.test', { expect: ['127.0.0.8'] }), limits)).detail).toBe(
      'expected 127.0.0.8, got 127.0.0.8, 127.0.0.9',
    );
  });

  it('fails NXDOMAIN and a name without records of the type', async () => {
    expect((await dnsCheck(dns('nope.test'), limits)).detail).toBe(
      `expected A records of nope.test, got NXDOMAIN (no such name) from ${at}`,
    );
    expect((await dnsCheck(dns('svc.test', { type: 'AAAA' }), limits)).detail).toBe(
      `expected AAAA records of svc.test, got none (the name has no AAAA record) from ${at}`,
    );
  });

  it('gives up within the timeout when the server does not answer', async () => {
    const silent = await started(silentUdp());
    const began = Date.now();
    const result = await dnsCheck(dns('svc.test', { server: `127.0.0.1:${silent.port}` }), {
      timeoutMs: 500,
    });
    expect(Date.now() - began).toBeLessThan(2000);
    expect(result.ok).toBe(false);
  });

  it('compares names without case or trailing dot, IPv6 in its short form', () => {
    expect(normalize('CNAME', 'Svc.Test.')).toBe('svc.test');
    expect(normalize('AAAA', '2001:DB8:0:0::1')).toBe('2001:db8::1');
    expect(normalize('TXT', 'Case Kept')).toBe('Case Kept');
  });
});

/** A UDP port that receives and never answers. */
async function silentUdp(): Promise<Running> {
  const { createSocket } = await import('node:dgram');
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    stop: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
