import { describe, expect, it } from 'vitest';
import { CODES, type Code } from '../../src/plan/codes.js';
import type { Diagnostic } from '../../src/plan/diagnostic.js';
import { checkPlanText, type Env } from '../../src/plan/load.js';

/** Diagnostics of plan text, as `restore validate` would report them. */
function diagnose(text: string, env: Env = {}): Diagnostic[] {
  const result = checkPlanText('plan.yaml', text, env);
  return result.ok ? [] : result.error;
}

/** The one diagnostic with this code; fails when there is not exactly one. */
function only(text: string, code: Code, env: Env = {}): Diagnostic {
  const found = diagnose(text, env);
  const matching = found.filter((d) => d.code === code);
  expect(matching, JSON.stringify(found, null, 2)).toHaveLength(1);
  return matching[0]!;
}

const at = (d: Diagnostic) => `${d.line}:${d.column}`;

const HEAD = 'version: 1\nname: shop\n';

describe('SPEC 2 Validation: every code points at the offending node', () => {
  it('yaml-syntax: a broken flow mapping', () => {
    const d = only(`${HEAD}services:\n  a: { start: "x"\n`, 'yaml-syntax');
    expect(at(d)).toBe('4:6');
    expect(d.message).toBe('this "{" is never closed');
  });

  it('yaml-syntax: an unclosed quote, at the quote', () => {
    const d = only(`${HEAD}services:\n  a:\n    start: "unterminated\n`, 'yaml-syntax');
    expect(at(d)).toBe('5:12');
    expect(d.message).toBe('this quoted string is never closed');
  });

  it('yaml-syntax: a tab used for indentation', () => {
    const d = only(`${HEAD}services:\n\ta:\n    start: x\n`, 'yaml-syntax');
    expect(at(d)).toBe('4:1');
    expect(d.message).toMatch(/tab/);
  });

  it('duplicate-key: the second occurrence of the key', () => {
    const d = only(`${HEAD}services:\n  a:\n    start: x\n    start: y\n`, 'duplicate-key');
    expect(at(d)).toBe('6:5');
    expect(d.message).toContain('"start"');
  });

  it('duplicate-key: the rest of the file is still checked, every problem reported with it', () => {
    const found = diagnose(
      `${HEAD}services:\n  a:\n    start: x\n    start: y\n    timeout: 5\n  b:\n    start: z\n    depends_on: [c]\n`,
    );
    expect(found.map((d) => `${at(d)} ${d.code}`)).toEqual([
      '6:5 duplicate-key',
      '7:14 invalid-duration',
      '10:18 unknown-dependency',
    ]);
  });

  it('duplicate-key: a problem in the value points at the occurrence that counts, the last', () => {
    const found = diagnose(`${HEAD}services:\n  a:\n    start: x\n    timeout: 5s\n    timeout: 5\n`);
    expect(found.map((d) => `${at(d)} ${d.code}`)).toEqual(['7:5 duplicate-key', '7:14 invalid-duration']);
  });

  it.each([
    [
      'a Python object',
      'start: !!python/object/apply:os.system ["ls"]',
      '!!python/object/apply:os.system',
      12,
    ],
    ['a JavaScript function', 'start: !!js/function "function () {}"', '!!js/function', 12],
    ['a local tag', 'start: !foo x', '!foo', 12],
    ['a YAML 1.1 binary', 'start: !!binary aGk=', '!!binary', 12],
    ['a tag after an anchor', 'start: &s !foo x', '!foo', 15],
  ])('unknown-tag: %s is refused at its tag', (_label, line, tag, column) => {
    const d = only(`${HEAD}services:\n  a:\n    ${line}\n`, 'unknown-tag');
    expect(at(d)).toBe(`5:${column}`);
    expect(d.message).toContain(`unknown YAML tag ${tag}`);
  });

  it('unknown-tag: the core schema tags are accepted', () => {
    expect(
      diagnose(
        `${HEAD}services: !!map\n  a:\n    start: !!str 1\n    retries: !!int 2\n    depends_on: !!seq []\n`,
      ),
    ).toEqual([]);
  });

  it('unknown-tag: reported with the other problems of the file', () => {
    const found = diagnose(`${HEAD}services:\n  a:\n    start: !foo x\n    helth: []\n`);
    expect(found.map((d) => `${at(d)} ${d.code}`)).toEqual(['5:12 unknown-tag', '6:5 unknown-key']);
  });

  it('unknown-key: at the key, with the closest known key as hint', () => {
    const d = only(
      `${HEAD}services:\n  api:\n    start: x\n    depends-on: [db]\n  db:\n    start: y\n`,
      'unknown-key',
    );
    expect(at(d)).toBe('6:5');
    expect(d.message).toContain('"depends-on"');
    expect(d.hint).toBe('did you mean "depends_on"?');
  });

  it('unknown-key: at the top level too', () => {
    const d = only(`${HEAD}servces:\n  a:\n    start: x\n`, 'unknown-key');
    expect(at(d)).toBe('3:1');
    expect(d.hint).toBe('did you mean "services"?');
  });

  it('invalid-type: a mapping where true/false is expected', () => {
    const d = only(`${HEAD}services:\n  a:\n    start: x\n    critical: {no: 1}\n`, 'invalid-type');
    expect(at(d)).toBe('6:15');
    expect(d.message).toContain('expected true or false');
  });

  it('invalid-type: a number where a command is expected', () => {
    const d = only(`${HEAD}services:\n  a:\n    start: 42\n`, 'invalid-type');
    expect(at(d)).toBe('5:12');
    expect(d.message).toMatch(/expected a string, a list or a mapping, found a number \(42\)/);
  });

  it('invalid-value: a port out of range', () => {
    const d = only(`${HEAD}services:\n  a:\n    health:\n      - tcp: { port: 70000 }\n`, 'invalid-value');
    expect(at(d)).toBe('6:22');
    expect(d.message).toContain('at most 65535');
  });

  it('invalid-value: an unknown HTTP method, with a hint', () => {
    const d = only(
      `${HEAD}services:\n  a:\n    health:\n      - http: { url: "http://127.0.0.1/", method: get }\n`,
      'invalid-value',
    );
    expect(at(d)).toBe('6:51');
    expect(d.hint).toBe('did you mean "GET"?');
  });

  it('invalid-value: a health check with two kinds', () => {
    const d = only(
      `${HEAD}services:\n  a:\n    health:\n      - tcp: { port: 1 }\n        exec: "true"\n`,
      'invalid-value',
    );
    expect(at(d)).toBe('6:9');
    // Every kind is named, however many there are; this one names the two it found.
    expect(d.message).toMatch(/exactly one of http, tcp, exec(, \w+)* or \w+; this one has tcp and exec$/);
  });

  it('invalid-value: a URL that is not http or https', () => {
    const d = only(
      `${HEAD}services:\n  a:\n    health:\n      - http: { url: "ftp://127.0.0.1/" }\n`,
      'invalid-value',
    );
    expect(at(d)).toBe('6:22');
  });

  it('invalid-value: an unclosed quote in a command string', () => {
    const d = only(`${HEAD}services:\n  a:\n    start: echo 'oops\n`, 'invalid-value');
    expect(at(d)).toBe('5:12');
    expect(d.message).toContain('quote');
  });

  it('invalid-value: shell: true with an argv list', () => {
    const d = only(
      `${HEAD}services:\n  a:\n    start:\n      run: [echo, hi]\n      shell: true\n`,
      'invalid-value',
    );
    expect(at(d)).toBe('7:14');
  });

  it('invalid-value: a plan with no services', () => {
    const d = only(`${HEAD}services: {}\n`, 'invalid-value');
    expect(at(d)).toBe('3:11');
  });

  it('invalid-name: the plan name', () => {
    const d = only('version: 1\nname: Payments Prod\nservices:\n  a: {start: x}\n', 'invalid-name');
    expect(at(d)).toBe('2:7');
    expect(d.hint).toBe('did you mean "payments-prod"?');
  });

  it('invalid-name: a service name, at its key', () => {
    const d = only(`${HEAD}services:\n  ../etc/passwd:\n    start: x\n`, 'invalid-name');
    expect(at(d)).toBe('4:3');
  });

  it('invalid-name: a stage name', () => {
    const d = only(
      `${HEAD}stages:\n  - name: Core!\nservices:\n  a: {start: x, stage: Core!}\n`,
      'invalid-name',
    );
    expect(at(d)).toBe('4:11');
  });

  it('invalid-duration: a bare number suggests the string form', () => {
    const d = only(`${HEAD}services:\n  a:\n    start: x\n    timeout: 5\n`, 'invalid-duration');
    expect(at(d)).toBe('6:14');
    expect(d.hint).toBe('did you mean "5s"?');
  });

  it('invalid-duration: a quoted bare number too', () => {
    const d = only(`${HEAD}defaults:\n  retry_delay: "10"\nservices:\n  a: {start: x}\n`, 'invalid-duration');
    expect(at(d)).toBe('4:16');
    expect(d.hint).toBe('did you mean "10s"?');
  });

  it('invalid-duration: negative', () => {
    const d = only(`${HEAD}services:\n  a:\n    start: x\n    retry_delay: -5s\n`, 'invalid-duration');
    expect(at(d)).toBe('6:18');
    expect(d.message).toContain('negative');
  });

  it('invalid-duration: zero where it makes no sense', () => {
    const d = only(`${HEAD}services:\n  a:\n    health:\n      interval: 0s\n`, 'invalid-duration');
    expect(at(d)).toBe('6:17');
    expect(d.message).toContain('greater than zero');
  });

  it('zero is allowed for start_period and retry_delay', () => {
    expect(
      diagnose(`${HEAD}services:\n  a:\n    retry_delay: 0s\n    health: { start_period: 0s }\n`),
    ).toEqual([]);
  });

  it('missing-key: at the mapping that lacks it', () => {
    const d = only(`${HEAD}services:\n  a:\n    health:\n      - tcp: { host: db }\n`, 'missing-key');
    expect(at(d)).toBe('6:9');
    expect(d.message).toContain('"port"');
  });

  it('missing-key: a plan without a name', () => {
    const d = only('version: 1\nservices:\n  a: {start: x}\n', 'missing-key');
    expect(at(d)).toBe('1:1');
    expect(d.message).toContain('"name"');
  });

  it('unsupported-version', () => {
    const d = only('version: 2\nname: shop\nservices:\n  a: {start: x}\n', 'unsupported-version');
    expect(at(d)).toBe('1:10');
  });

  it('unknown-dependency: with the closest service name as hint', () => {
    const d = only(
      `${HEAD}services:\n  postgres: {start: x}\n  api:\n    start: y\n    depends_on: [postgress]\n`,
      'unknown-dependency',
    );
    expect(at(d)).toBe('7:18');
    expect(d.hint).toBe('did you mean "postgres"?');
  });

  it('self-dependency', () => {
    const d = only(`${HEAD}services:\n  api:\n    start: y\n    depends_on: [api]\n`, 'self-dependency');
    expect(at(d)).toBe('6:18');
  });

  it('dependency-cycle: lists the whole cycle', () => {
    const d = only(
      `${HEAD}services:\n  a: {start: x, depends_on: [b]}\n  b: {start: x, depends_on: [c]}\n  c: {start: x, depends_on: [a]}\n`,
      'dependency-cycle',
    );
    expect(d.message).toContain('a -> b -> c -> a');
    expect(at(d)).toBe('4:30');
  });

  it('stage-order: a dependency on a later stage', () => {
    const d = only(
      `${HEAD}stages:\n  - name: core\n  - name: apps\nservices:\n  db: {start: x, stage: apps}\n  api: {start: y, stage: core, depends_on: [db]}\n`,
      'stage-order',
    );
    expect(at(d)).toBe('8:45');
    expect(d.message).toContain('later stage apps');
  });

  it('unknown-stage: with the closest declared stage as hint', () => {
    const d = only(
      `${HEAD}stages:\n  - name: core\nservices:\n  db: {start: x, stage: cor}\n`,
      'unknown-stage',
    );
    expect(at(d)).toBe('6:25');
    expect(d.hint).toBe('did you mean "core"?');
  });

  it('unknown-stage: a stage named when none are declared', () => {
    const d = only(`${HEAD}services:\n  db: {start: x, stage: core}\n`, 'unknown-stage');
    expect(at(d)).toBe('4:25');
  });

  it('missing-stage: at the service key', () => {
    const d = only(`${HEAD}stages:\n  - name: core\nservices:\n  db:\n    start: x\n`, 'missing-stage');
    expect(at(d)).toBe('6:3');
  });

  it('unset-variable: at the string that uses it', () => {
    const d = only(`${HEAD}services:\n  a:\n    start: run --token \${TOKEN}\n`, 'unset-variable');
    expect(at(d)).toBe('5:12');
    expect(d.message).toContain('${TOKEN}');
  });

  it('unset-variable: not when a default is given or the variable is set', () => {
    expect(diagnose(`${HEAD}services:\n  a:\n    start: run \${A:-x} \${B}\n`, { B: 'set' })).toEqual([]);
  });

  it('alias-limit: an alias bomb is refused', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
      ...'bcdefghi'
        .split('')
        .map((n, i) => `${n}: &${n} [${Array(10).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
    ].join('\n');
    const started = performance.now();
    const d = only(`${bomb}\n`, 'alias-limit');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(at(d)).toBe('2:8');
  });

  it('unknown-host: a service on an undeclared host, with the closest host as hint', () => {
    const d = only(
      `${HEAD}hosts:\n  db-1: { address: 10.0.0.5 }\nservices:\n  pg:\n    host: db1\n    start: x\n`,
      'unknown-host',
    );
    expect(at(d)).toBe('7:11');
    expect(d.message).toContain('"db1"');
    expect(d.hint).toBe('did you mean "db-1"?');
  });

  it('unknown-host: a plan without hosts says how to declare one', () => {
    const d = only(`${HEAD}services:\n  pg: { host: db, start: x }\n`, 'unknown-host');
    expect(at(d)).toBe('4:15');
    expect(d.hint).toMatch(/^declare it: `hosts:/);
  });

  it('every code listed in the SPEC has a test in this file', async () => {
    const { readFileSync } = await import('node:fs');
    const source = readFileSync(new URL(import.meta.url), 'utf8');
    // file-too-large needs a real file and is tested in test/e2e/bad-input.test.ts.
    const untested = CODES.filter(
      (code) => code !== 'file-too-large' && !new RegExp(`'${code}',?\\s*\\)`).test(source),
    );
    expect(untested).toEqual([]);
  });
});

describe('SPEC 2 Validation: every problem is reported, not just the first', () => {
  it('reports problems in several services and fields in one pass, in source order', () => {
    const found = diagnose(
      `${HEAD}services:\n  api:\n    start: run \${NOPE}\n    timeout: 5\n    depends_on: [dbb]\n  db:\n    start: 1\n    helth: []\n`,
    );
    expect(found.map((d) => `${at(d)} ${d.code}`)).toEqual([
      '5:12 unset-variable',
      '6:14 invalid-duration',
      '7:18 unknown-dependency',
      '9:12 invalid-type',
      '10:5 unknown-key',
    ]);
  });

  it('a service with a bad name is still checked inside', () => {
    const found = diagnose(`${HEAD}services:\n  Bad_Name:\n    start: x\n    timeout: 5\n`);
    expect(found.map((d) => d.code).sort()).toEqual(['invalid-duration', 'invalid-name']);
  });
});

describe('SPEC 2 Bad input is a diagnostic, never a crash', () => {
  it.each([
    ['an empty file', '', 'invalid-type', /empty/],
    ['only a comment', '# nothing\n', 'invalid-type', /empty/],
    ['a list at top level', '- a\n- b\n', 'invalid-type', /found a list/],
    ['a scalar at top level', 'hello\n', 'invalid-type', /found a string/],
    ['binary junk', '\u0000\u0001\u0002garbage\u00ff', 'yaml-syntax', /not a text file/],
    ['two YAML documents', `${HEAD}services: {a: {start: x}}\n---\nb: 1\n`, 'yaml-syntax', /more than one/],
  ])('%s', (_label, text, code, message) => {
    const found = diagnose(text);
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]!.code).toBe(code);
    expect(found[0]!.message).toMatch(message);
    expect(found[0]!.line).toBeGreaterThanOrEqual(1);
  });
});

describe('SPEC 6 hosts are validated like the rest', () => {
  const plan = (host: string) => `${HEAD}hosts:\n  db:\n${host}services:\n  pg: { host: db, start: x }\n`;

  it('a port out of range', () => {
    const d = only(plan('    address: 10.0.0.5\n    port: 70000\n'), 'invalid-value');
    expect(at(d)).toBe('6:11');
  });

  it('a port that is not a number', () => {
    const d = only(plan('    address: 10.0.0.5\n    port: ssh\n'), 'invalid-type');
    expect(at(d)).toBe('6:11');
  });

  it('an ssh option name that ssh does not know, at the key, with the closest as hint', () => {
    const d = only(
      plan('    address: 10.0.0.5\n    ssh_options: { StrictHostKeyCheck: "yes" }\n'),
      'unknown-key',
    );
    expect(at(d)).toBe('6:20');
    expect(d.message).toContain('StrictHostKeyCheck is not an ssh option');
    expect(d.hint).toBe('did you mean "StrictHostKeyChecking"?');
  });

  it('an option restore sets itself, with what to write instead', () => {
    const d = only(plan('    address: 10.0.0.5\n    ssh_options: { Port: 2222 }\n'), 'invalid-value');
    expect(at(d)).toBe('6:20');
    expect(d.hint).toContain('`port`');
  });

  it('ControlMaster may only be turned off', () => {
    const d = only(
      plan('    address: 10.0.0.5\n    ssh_options: { ControlMaster: auto }\n'),
      'invalid-value',
    );
    expect(d.message).toContain('ControlMaster');
    expect(diagnose(plan('    address: 10.0.0.5\n    ssh_options: { ControlMaster: no }\n'))).toEqual([]);
  });

  it('an address that ssh would read as an option', () => {
    const d = only(plan('    address: -oProxyCommand=evil\n'), 'invalid-value');
    expect(at(d)).toBe('5:14');
  });

  it('a host without an address', () => {
    const d = only(plan('    user: ops\n'), 'missing-key');
    expect(d.message).toContain('address');
  });

  it('every problem of a host in one pass: a bad port does not hide a bad option name or user', () => {
    const found = diagnose(
      plan('    port: 70000\n    user: "-x"\n    ssh_options: { StrictHostKeyCheck: "yes" }\n'),
    );
    expect(found.map((d) => `${at(d)} ${d.code}`)).toEqual([
      '4:3 missing-key',
      '5:11 invalid-value',
      '6:11 invalid-value',
      '7:20 unknown-key',
    ]);
  });

  it('an unsafe host name', () => {
    const d = only(`${HEAD}hosts:\n  Db 1: { address: x }\nservices:\n  pg: { start: x }\n`, 'invalid-name');
    expect(at(d)).toBe('4:3');
  });

  it('a valid hosts block: options in any case, true/false as yes/no, variables substituted', () => {
    const result = checkPlanText(
      'plan.yaml',
      plan(
        '    address: ${DB_HOST}\n    user: ops\n    identity_file: ~/.ssh/restore\n    concurrency: 2\n    ssh_options: { stricthostkeychecking: true, ConnectTimeout: 5 }\n',
      ),
      { DB_HOST: '10.0.0.5' },
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.plan.hosts.db).toEqual({
      name: 'db',
      address: '10.0.0.5',
      user: 'ops',
      port: 22,
      identity_file: '~/.ssh/restore',
      concurrency: 2,
      ssh_options: { StrictHostKeyChecking: 'yes', ConnectTimeout: '5' },
    });
    expect(result.value.plan.services.pg!.host).toBe('db');
  });

  it('tcp and http checks of a service on a host default to its address', () => {
    const result = checkPlanText(
      'plan.yaml',
      `${HEAD}hosts:\n  db: { address: 10.0.0.5 }\nservices:\n  pg:\n    host: db\n    start: x\n    health:\n      - tcp: { port: 5432 }\n      - http: { url: ":8080/healthz" }\n      - tcp: { host: 127.0.0.1, port: 1 }\n`,
      {},
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.plan.services.pg!.health.checks).toMatchObject([
      { kind: 'tcp', host: '10.0.0.5', port: 5432 },
      { kind: 'http', url: 'http://10.0.0.5:8080/healthz' },
      { kind: 'tcp', host: '127.0.0.1', port: 1 },
    ]);
  });

  it('a URL without a host on a service without one is still an error', () => {
    const d = only(
      `${HEAD}services:\n  a:\n    start: x\n    health: [ { http: { url: ":8080/" } } ]\n`,
      'invalid-value',
    );
    expect(d.hint).toContain('a service with a `host`');
  });
});

describe('SPEC 11 depends_on conditions and max_failures: the graph and validation', () => {
  it('a dependency of any condition puts the dependent in a later wave, in start order', () => {
    const result = checkPlanText(
      'plan.yaml',
      `${HEAD}services:\n  db: {start: x}\n  cache: {start: x}\n  api: {start: y, depends_on: [{service: db, condition: started}, {service: cache, required: false}]}\n`,
      {},
    );
    if (!result.ok) throw new Error(JSON.stringify(result.error));
    const { plan } = result.value;
    expect(plan.stages.map((s) => [s.name, s.services])).toEqual([
      ['wave-1', ['cache', 'db']],
      ['wave-2', ['api']],
    ]);
    expect(plan.services.api!.depends_on).toEqual(['db', 'cache']);
    expect(plan.services.api!.dependencies).toEqual([
      { service: 'db', condition: 'started', required: true },
      { service: 'cache', condition: 'healthy', required: false },
    ]);
    expect(plan.services.db!.dependencies).toEqual([]);
  });

  it('dependency-cycle: a cycle through the object form is one, pointing at the item', () => {
    const d = only(
      `${HEAD}services:\n  a: {start: x, depends_on: [{service: b, condition: started}]}\n  b: {start: x, depends_on: [{service: a, required: false}]}\n`,
      'dependency-cycle',
    );
    expect(d.message).toContain('a -> b -> a');
    expect(at(d)).toBe('4:30');
  });

  it('stage-order and self-dependency hold for the object form', () => {
    const order = only(
      `${HEAD}stages:\n  - name: core\n  - name: apps\nservices:\n  db: {start: x, stage: apps}\n  api: {start: y, stage: core, depends_on: [{service: db, condition: started}]}\n`,
      'stage-order',
    );
    expect(at(order)).toBe('8:45');
    const self = only(
      `${HEAD}services:\n  api:\n    start: y\n    depends_on: [{service: api}]\n`,
      'self-dependency',
    );
    expect(at(self)).toBe('6:28');
  });

  it('a percentage budget is floor(p% of the stage services); a count is itself', () => {
    const result = checkPlanText(
      'plan.yaml',
      `${HEAD}stages:\n  - {name: a, max_failures: "50%"}\n  - {name: b, max_failures: 3}\n  - {name: c, max_failures: "12.5%"}\n  - {name: d}\nservices:\n  a1: {start: x, stage: a}\n  a2: {start: x, stage: a}\n  a3: {start: x, stage: a}\n  b1: {start: x, stage: b}\n${Array.from({ length: 8 }, (_, i) => `  c${i}: {start: x, stage: c}\n`).join('')}  d1: {start: x, stage: d}\n`,
      {},
    );
    if (!result.ok) throw new Error(JSON.stringify(result.error));
    expect(result.value.plan.stages.map((s) => s.max_failures)).toEqual([
      { written: '50%', count: 1 },
      { written: 3, count: 3 },
      { written: '12.5%', count: 1 },
      null,
    ]);
  });

  it('max_failures: negative, over 100% and not a count nor a share are invalid-value', () => {
    for (const [written, column] of [
      ['-1', 29],
      ['"101%"', 29],
      ['half', 29],
      ['"5 %"', 29],
    ] as const) {
      const d = only(
        `${HEAD}stages:\n  - {name: a, max_failures: ${written}}\nservices:\n  x: {start: x, stage: a}\n`,
        'invalid-value',
      );
      expect(at(d), written).toBe(`4:${column}`);
    }
  });
});
