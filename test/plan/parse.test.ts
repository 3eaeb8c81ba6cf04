import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseYaml, parseYamlFast } from '../../src/plan/parse.js';

/** JSON-like values with the strings YAML makes tricky: numbers, booleans, nulls, quotes, colons. */
const trickyString = fc.oneof(
  fc.string(),
  fc.constantFrom(
    'yes',
    'no',
    'on',
    'off',
    'null',
    '~',
    '0x1F',
    '0o17',
    '1e3',
    '.inf',
    '-.nan',
    '2001-12-14',
    '12:30:00',
  ),
  fc.constantFrom(
    'a: b',
    '- x',
    '# not a comment',
    "it's",
    'say "hi"',
    ' padded ',
    'multi\nline',
    '${VAR:-x}',
    '$$',
  ),
);
const value = fc.letrec((tie) => ({
  leaf: fc.oneof(
    trickyString,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
    fc.boolean(),
    fc.constant(null),
  ),
  node: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('list'), tie('map')),
  list: fc.array(tie('node'), { maxLength: 4 }),
  map: fc.dictionary(fc.oneof(fc.string({ minLength: 1 }), trickyString), tie('node'), { maxKeys: 4 }),
})).map;

describe('the fast parse agrees with the positional parser', () => {
  it('gives the same data for any document it accepts, in block and flow style', () => {
    let accepted = 0;
    fc.assert(
      fc.property(value, fc.constantFrom(false, true), (data, flow) => {
        const text = stringify(data, { collectionStyle: flow ? 'flow' : 'block' });
        const fast = parseYamlFast(text);
        if (fast === undefined) return;
        accepted += 1;
        expect(fast).toEqual(parseYaml('x.yaml', text).data);
      }),
      { numRuns: 500 },
    );
    // The comparison means something only if most documents take the fast path.
    // (More are declined since the fast path leaves what the parsers read differently to yaml.)
    expect(accepted).toBeGreaterThan(150);
  });

  it.each([
    ['duplicate keys', 'a: 1\na: 2\n'],
    ['tabs as indentation', 'a:\n\tb: 1\n'],
    ['anchors and aliases', 'a: &x 1\nb: *x\n'],
    ['merge keys', 'a: {x: 1}\nb:\n  <<: {y: 2}\n'],
    ['tags', 'a: !!str 1\n'],
    ['two documents', 'a: 1\n---\nb: 2\n'],
    ['an empty file', ''],
    ['binary', 'a: \u0000\n'],
  ])('leaves %s to the positional parser', (_label, text) => {
    expect(parseYamlFast(text)).toBeUndefined();
  });

  it('reads YAML 1.2 core types like the positional parser', () => {
    const text = 'a: yes\nb: 0o17\nc: 0x1F\nd: 2001-12-14\ne: ~\nf: .inf\ng: "1"\n';
    expect(parseYamlFast(text)).toEqual(parseYaml('x.yaml', text).data);
    expect(parseYamlFast(text)).toMatchObject({ a: 'yes', b: 15, c: 31, d: '2001-12-14', e: null, g: '1' });
  });
});
