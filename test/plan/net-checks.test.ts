import { describe, expect, it } from 'vitest';
import { checkPlanText } from '../../src/plan/load.js';
import { dnsServerAddress } from '../../src/plan/resolve-net.js';

const planWith = (check: string, host = '') =>
  [
    'version: 1',
    'name: net',
    ...(host ? ['hosts:', '  db1: { address: 10.1.2.3 }'] : []),
    'services:',
    '  api:',
    ...(host ? ['    host: db1'] : []),
    '    start: "true"',
    `    health: [ ${check} ]`,
  ].join('\n');

function load(text: string, env: Record<string, string> = {}) {
  const loaded = checkPlanText('plan.yaml', text, env);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
  return loaded.value;
}

describe('SPEC 11: grpc, tls and dns checks in the resolved plan', () => {
  it('defaults: host 127.0.0.1 (or the service host address), service "", tls false, servername host, min_days 14, type A', () => {
    const checks = (text: string) => load(text).plan.services.api!.health.checks;
    expect(checks(planWith('{ grpc: { port: 50051 } }'))).toEqual([
      { kind: 'grpc', host: '127.0.0.1', port: 50051, service: '', tls: false },
    ]);
    expect(checks(planWith('{ tls: { port: 443 } }', 'db1'))).toEqual([
      { kind: 'tls', host: '10.1.2.3', port: 443, servername: '10.1.2.3', ca: null, min_days: 14 },
    ]);
    expect(checks(planWith('{ dns: { name: db.test } }'))).toEqual([
      { kind: 'dns', name: 'db.test', type: 'A', expect: null, server: null },
    ]);
  });

  it('variables resolve in host, port, name, expect and server', () => {
    const plan = load(
      planWith(
        '{ dns: { name: "${ZONE}", expect: ["${IP}"], server: "${NS:-127.0.0.1:53}" } }, { grpc: { port: "${PORT}" } }',
      ),
      { ZONE: 'db.test', IP: '10.0.0.1', PORT: '50051' },
    ).plan;
    expect(plan.services.api!.health.checks).toEqual([
      { kind: 'dns', name: 'db.test', type: 'A', expect: ['10.0.0.1'], server: '127.0.0.1:53' },
      { kind: 'grpc', host: '127.0.0.1', port: 50051, service: '', tls: false },
    ]);
  });

  it('the digest covers them: changing min_days, expect or the service asked about changes it', () => {
    const digest = (check: string) => load(planWith(check)).digest;
    expect(digest('{ tls: { port: 443, min_days: 14 } }')).not.toBe(
      digest('{ tls: { port: 443, min_days: 30 } }'),
    );
    expect(digest('{ dns: { name: a.test, expect: [10.0.0.1] } }')).not.toBe(
      digest('{ dns: { name: a.test, expect: [10.0.0.2] } }'),
    );
    expect(digest('{ grpc: { port: 1 } }')).not.toBe(digest('{ grpc: { port: 1, service: x } }'));
    // Defaults written out are the same plan.
    expect(digest('{ tls: { port: 443 } }')).toBe(
      digest('{ tls: { port: 443, min_days: 14, host: 127.0.0.1 } }'),
    );
  });

  it('a dns server is an IP address with an optional port', () => {
    for (const good of ['10.0.0.2', '10.0.0.2:5353', '::1', '[::1]:53', '[2001:db8::1]'])
      expect(dnsServerAddress(good), good).toBe(true);
    for (const bad of ['dns.internal', 'dns.internal:53', '10.0.0.2:0', '10.0.0.2:70000', '[10.0.0.2]:53'])
      expect(dnsServerAddress(bad), bad).toBe(false);
  });
});
