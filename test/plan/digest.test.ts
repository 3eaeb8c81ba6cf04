import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/plan/digest.js';
import { checkPlanText } from '../../src/plan/load.js';

/** Orders strings by UTF-16 code units, written out rather than relying on Array#sort's default. */
function byCodeUnits(a: string, b: string): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const diff = a.charCodeAt(i) - b.charCodeAt(i);
    if (diff !== 0) return diff;
  }
  return a.length - b.length;
}

/** A small deterministic PRNG, so a shuffle is part of the generated case and can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A deep copy of a JSON value with every object's keys inserted in a random order. */
function shuffleKeys(value: unknown, next: () => number): unknown {
  if (Array.isArray(value)) return value.map((item) => shuffleKeys(item, next));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return Object.fromEntries(entries.map(([key, item]) => [key, shuffleKeys(item, next)]));
}

/** Any UTF-16 code unit, lone surrogates included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
const anyKey = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 4 }),
  fc.string({ unit: codeUnit, maxLength: 3 }),
  fc.nat({ max: 20 }).map(String),
);
const jsonValue = fc.jsonValue({ maxDepth: 4 });
const objectsWithAnyKeys = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(anyKey, tie('value'), { maxKeys: 6 }),
  ),
})).value;

describe('Plan digest: canonical JSON (SPEC 3, "Output"; RFC 8785)', () => {
  it('objects are written with sorted keys and no white space, at every depth', () => {
    const value = { b: [1, { d: true, c: null }], a: 'x', c: { z: -2.5, y: 'é' } };
    expect(canonicalJson(value)).toBe('{"a":"x","b":[1,{"c":null,"d":true}],"c":{"y":"é","z":-2.5}}');
  });

  it('keys sort by UTF-16 code units, not code points, locale or numeric value (RFC 8785 example)', () => {
    const value = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalJson(value)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis",' +
        '"€":"Euro Sign","😀":"Emoji: Grinning Face","דּ":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('integer-like keys sort as strings ("10" before "9"), unlike JavaScript property order', () => {
    expect(canonicalJson({ 9: 'a', 10: 'b', B: 'c', a: 'd' })).toBe('{"10":"b","9":"a","B":"c","a":"d"}');
  });

  it('the key order of the input never changes the output', () => {
    fc.assert(
      fc.property(fc.oneof(jsonValue, objectsWithAnyKeys), fc.integer(), (value, seed) => {
        expect(canonicalJson(shuffleKeys(value, random(seed)))).toBe(canonicalJson(value));
      }),
    );
  });

  it('the output is JSON that parses back to the same value', () => {
    fc.assert(
      fc.property(fc.oneof(jsonValue, objectsWithAnyKeys), (value) => {
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('an object is its entries in UTF-16 code unit order of their keys, each written as JSON', () => {
    fc.assert(
      fc.property(fc.dictionary(anyKey, fc.oneof(fc.string(), fc.integer(), fc.boolean())), (record) => {
        const entries = Object.keys(record)
          .sort(byCodeUnits)
          .map((key) => `${JSON.stringify(key)}:${JSON.stringify(record[key])}`);
        expect(canonicalJson(record)).toBe(`{${entries.join(',')}}`);
      }),
    );
  });

  it('an integer-like or __proto__ key deep inside changes nothing (such objects are written key by key)', () => {
    const value = { b: { x: [{ 10: 1, 9: 2 }] }, a: JSON.parse('{"__proto__":{"z":1,"y":2}}') };
    expect(canonicalJson(value)).toBe('{"a":{"__proto__":{"y":2,"z":1}},"b":{"x":[{"10":1,"9":2}]}}');
    expect(canonicalJson({ s: { b: 1, a: [true, null, undefined] } })).toBe(
      '{"s":{"a":[true,null,null],"b":1}}',
    );
  });

  it('lone surrogates in strings are escaped, so the output is well-formed Unicode', () => {
    expect(canonicalJson({ '\udc00': '\ud800' })).toBe('{"\\udc00":"\\ud800"}');
  });

  it('a property whose value is undefined is left out, as JSON.stringify does', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });

  it('scalars and arrays are written as JSON', () => {
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson('a"b\n')).toBe('"a\\"b\\n"');
    expect(canonicalJson([1, 'x', [], {}])).toBe('[1,"x",[],{}]');
    expect(canonicalJson(-0)).toBe('0');
  });

  it('a number that JSON cannot hold is refused rather than written as null', () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, { a: [Number.NEGATIVE_INFINITY] }]) {
      expect(() => canonicalJson(value)).toThrow(TypeError);
    }
  });
});

describe('the digest covers integrity (SPEC 7)', () => {
  const digestOf = (sha256: string, identity = 'release@example.com') => {
    const text = [
      'version: 1',
      'name: pinned',
      'secrets: [TOKEN]',
      'services:',
      '  api:',
      '    start: ./bin/api',
      '    verify:',
      `      - { file: bin/api, sha256: ${sha256} }`,
      `      - { signed: r.tar, allowed_signers: signers, identity: ${identity} }`,
    ].join('\n');
    const loaded = checkPlanText('plan.yaml', text, { TOKEN: 'x' });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
    return loaded.value.digest;
  };

  it('changes when a pinned sha256 or a signer identity changes, and not for the case of the hex digits', () => {
    const base = digestOf('a'.repeat(64));
    expect(digestOf(`${'a'.repeat(63)}b`)).not.toBe(base);
    expect(digestOf('a'.repeat(64), 'other@example.com')).not.toBe(base);
    // Digests are compared lower-case: the same pin written in capitals is the same plan.
    expect(digestOf('A'.repeat(64))).toBe(base);
  });
});

describe('the digest of a plan that uses nothing added in v1.1', () => {
  const text = (approval: string, verify = '') =>
    [
      'version: 1',
      'name: dg',
      'stages:',
      '  - name: core',
      `    approval: ${approval}`,
      '  - name: apps',
      'services:',
      '  db:',
      '    stage: core',
      '    start: { run: "true" }',
      '    health: [ { tcp: { port: 5432 } } ]',
      ...(verify ? [`    verify: [ { file: db.bin, sha256: ${verify} } ]`] : []),
      '  api:',
      '    stage: apps',
      '    depends_on: [db]',
      '    start: { run: ./api, daemon: true, cwd: /srv }',
    ].join('\n');
  const digestOf = (plan: string) => {
    const loaded = checkPlanText('plan.yaml', plan, {});
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
    return loaded.value.digest;
  };

  it('is the digest v1.0 gave it, so a reviewed digest still holds for --expect-digest', () => {
    // `restore plan p.yaml --format json` of this plan, built from the v1.0 sources.
    expect(digestOf(text('true'))).toBe(
      'sha256:20b123aa4f49350b251f69d45be960c274242762d9f7ae046cfe70957cc0994f',
    );
  });

  it('changes once the plan uses verify: or an approval object', () => {
    const plain = digestOf(text('true'));
    expect(digestOf(text('true', 'a'.repeat(64)))).not.toBe(plain);
    expect(digestOf(text('{ approvers: 2 }'))).not.toBe(plain);
    expect(digestOf(text('{ approvers: 1, signed: true, allowed_signers: signers }'))).not.toBe(plain);
  });
});

describe('the digest and dependency conditions, failure budgets (SPEC 11)', () => {
  const text = (dependency: string, stage = '') =>
    [
      'version: 1',
      'name: dg',
      'stages:',
      '  - name: core',
      '    approval: true',
      '  - name: apps',
      ...(stage ? [`    ${stage}`] : []),
      'services:',
      '  db:',
      '    stage: core',
      '    start: { run: "true" }',
      '    health: [ { tcp: { port: 5432 } } ]',
      '  api:',
      '    stage: apps',
      `    depends_on: [${dependency}]`,
      '    start: { run: ./api, daemon: true, cwd: /srv }',
    ].join('\n');
  const digestOf = (plan: string) => {
    const loaded = checkPlanText('plan.yaml', plan, {});
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
    return loaded.value.digest;
  };
  const V1_0 = 'sha256:20b123aa4f49350b251f69d45be960c274242762d9f7ae046cfe70957cc0994f';

  it('a name and the object form with the defaults written out keep the v1.0 digest', () => {
    expect(digestOf(text('db'))).toBe(V1_0);
    expect(digestOf(text('{ service: db }'))).toBe(V1_0);
    expect(digestOf(text('{ service: db, condition: healthy, required: true }'))).toBe(V1_0);
    expect(digestOf(text('db', 'max_failures: 0'))).toBe(V1_0);
  });

  it('changes with a condition, an optional dependency or a failure budget', () => {
    const seen = new Set([
      V1_0,
      digestOf(text('{ service: db, condition: started }')),
      digestOf(text('{ service: db, required: false }')),
      digestOf(text('{ service: db, condition: started, required: false }')),
      digestOf(text('db', 'max_failures: 1')),
      digestOf(text('db', 'max_failures: "50%"')),
    ]);
    expect(seen.size).toBe(6);
  });
});
