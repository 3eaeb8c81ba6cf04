import { describe, expect, it } from 'vitest';
import { checkPlanText } from '../../src/plan/load.js';
import { parseStandIns, withStandIns } from '../../src/plan/stand-ins.js';

const PLAN = JSON.stringify({
  version: 1,
  name: 'shop',
  hosts: { 'db-1': { address: '192.0.2.1', concurrency: 2 }, 'web-1': { address: '192.0.2.2' } },
  services: {
    db: {
      host: 'db-1',
      start: 'pg_ctl start',
      health: [
        { tcp: { port: 5432 } },
        { http: { url: ':8008/health' } },
        { tcp: { host: '198.51.100.7', port: 1 } },
      ],
    },
    web: { host: 'web-1', start: 'nginx', health: [{ http: { url: 'http://192.0.2.1:5432/' } }] },
  },
});

const loaded = () => {
  const result = checkPlanText('plan.yaml', PLAN, {});
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  return result.value;
};

describe('SPEC 10 drill --hosts: the plan on its stand-ins', () => {
  it('commands go to the stand-in; checks aimed at a real host go to its stand-in, others stay', () => {
    const standIns = parseStandIns(
      'h.yaml',
      'db-1: { address: 10.9.0.5, user: ops }\nweb-1: { address: 10.9.0.6, concurrency: 1 }\n',
      loaded().plan,
    );
    if (!standIns.ok) throw new Error(standIns.error);
    const mapped = withStandIns(loaded(), standIns.value);
    expect(mapped.plan.hosts['db-1']).toMatchObject({
      address: '10.9.0.5',
      user: 'ops',
      port: 22,
      concurrency: 2,
    });
    expect(mapped.plan.hosts['web-1']).toMatchObject({ address: '10.9.0.6', user: null, concurrency: 1 });
    expect(mapped.plan.services.db!.health.checks).toEqual([
      { kind: 'tcp', host: '10.9.0.5', port: 5432 },
      expect.objectContaining({ kind: 'http', url: 'http://10.9.0.5:8008/health' }),
      { kind: 'tcp', host: '198.51.100.7', port: 1 },
    ]);
    // Written out with db-1's real address on another host's service: db-1's stand-in.
    expect(mapped.plan.services.web!.health.checks[0]).toMatchObject({ url: 'http://10.9.0.5:5432/' });
    // The digest is the plan's as reviewed.
    expect(mapped.digest).toBe(loaded().digest);
  });

  it('refuses a missing host, an unknown one, a bad value, and what is not a mapping', () => {
    const plan = loaded().plan;
    const error = (text: string) => {
      const parsed = parseStandIns('h.yaml', text, plan);
      return parsed.ok ? '' : parsed.error;
    };
    expect(error('db-1: { address: 10.9.0.5 }\n')).toContain('no stand-in for host "web-1"');
    expect(error('db-1: { address: a }\nweb-1: { address: b }\nweb-2: { address: c }\n')).toMatch(
      /^h\.yaml:3:1: "web-2" is not a host of plan shop \(did you mean "web-1"\?/,
    );
    expect(error('db-1: { address: a }\nweb-1: { address: "-oProxyCommand=x" }\n')).toMatch(
      /^h\.yaml:2:\d+: "-oProxyCommand=x" is not a host name or address/,
    );
    expect(error('db-1: { address: a }\nweb-1: { address: b, port: 0 }\n')).toMatch(
      /^h\.yaml:2:\d+: hosts\.web-1\.port/,
    );
    expect(error('just text\n')).toMatch(/^h\.yaml:1:1: a hosts file is a mapping/);
    expect(error('db-1: [\n')).toMatch(/^h\.yaml:\d+:\d+: /);
  });
});
