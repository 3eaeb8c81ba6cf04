import fc from 'fast-check';

/**
 * Generated plan files for the parser agreement tests and the fuzzer (bench/fuzz.ts,
 * test/plan/fuzz.test.ts): valid plans written by hand in many YAML spellings (block and flow,
 * quoted and plain, anchors, aliases and merge keys, numbers in every base, YAML 1.1 booleans),
 * then mutated at the level of lines, keys, scalars and bytes.
 */

/** Plain scalars that YAML 1.1 and 1.2 read differently, or that look like numbers or nulls. */
export const TRICKY_SCALARS = [
  '0b11',
  '0b1_1',
  '0o17',
  '017',
  '0x1F',
  '-0x1F',
  '+0o7',
  '+12',
  '1_000',
  '1:30',
  '190:20:30',
  '1:30.5',
  'yes',
  'no',
  'on',
  'off',
  'y',
  'n',
  'Yes',
  'ON',
  'True',
  'FALSE',
  'tRue',
  '~',
  'null',
  'Null',
  '.inf',
  '-.Inf',
  '.NaN',
  '1e3',
  '1.e3',
  '+.5',
  '.5',
  '1.',
  '-0',
  '00',
  '2001-12-14',
  '12345678901234567890',
  '3',
  '0',
  '1',
] as const;

const nameChars = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_'.split(''));
const name = fc
  .tuple(fc.constantFrom(...'abcdefghijklmnop'.split('')), fc.string({ unit: nameChars, maxLength: 6 }))
  .map(([first, rest]) => first + rest);

/** How a number is written: in any base YAML 1.1 or 1.2 knows, or quoted. */
const countSpelling = (n: number) =>
  fc.constantFrom(
    String(n),
    `0b${n.toString(2)}`,
    `0o${n.toString(8)}`,
    `0${n.toString(8)}`,
    `0x${n.toString(16)}`,
    `+${n}`,
    `${n}.0`,
    `0:${n}`,
    `"${n}"`,
    `${n}_0`,
  );
const count = fc
  .integer({ min: 0, max: 9 })
  .chain((n) => fc.oneof({ weight: 4, arbitrary: fc.constant(String(n)) }, countSpelling(n)));
const bool = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('true', 'false') },
  fc.constantFrom('yes', 'no', 'on', 'off', 'y', 'n', 'True', 'FALSE', 'Yes', '"true"', '~'),
);
const duration = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('1s', '250ms', '2m', '1m30s') },
  fc.constantFrom('5', '1:30', '"5s"', '0x10s', '.inf', '~', '1e3ms'),
);
const word = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('run', 'echo', 'true', 'serve --port 80') },
  fc.constantFrom(...TRICKY_SCALARS),
  fc.constantFrom('"quoted: yes"', "'single'", '"${HOME}"', '"$$x"', '"\\u00e9"'),
);

interface GenService {
  name: string;
  start: string;
  deps: number[];
  extras: [string, string][];
}

const service = fc.record({
  name,
  start: word,
  deps: fc.array(fc.nat(), { maxLength: 3 }),
  extras: fc.array(
    fc.oneof(
      count.map((v) => ['retries', v] as [string, string]),
      bool.map((v) => ['critical', v] as [string, string]),
      bool.map((v) => ['skip_if_healthy', v] as [string, string]),
      duration.map((v) => ['timeout', v] as [string, string]),
      duration.map((v) => ['retry_delay', v] as [string, string]),
      word.map((v) => ['description', v] as [string, string]),
      word.map((v) => ['stop', v] as [string, string]),
      count.map(
        (v) =>
          ['health', `{ retries: ${v}, checks: [{ tcp: { port: 80${v.length} } }] }`] as [string, string],
      ),
      bool.map((v) => ['env', `{ A: ${v}, B: x }`] as [string, string]),
    ),
    { maxLength: 4 },
  ),
});

/** A plan that is valid but for whatever its spellings make of it, as YAML text. */
export const planText: fc.Arbitrary<string> = fc
  .record({
    name,
    services: fc.uniqueArray(service, { minLength: 1, maxLength: 6, selector: (s) => s.name }),
    flow: fc.boolean(),
    anchors: fc.constantFrom('none', 'alias', 'merge', 'defaults'),
    version: fc.oneof(
      { weight: 8, arbitrary: fc.constant('1') },
      fc.constantFrom('0b1', '0x1', '+1', '1.0', '"1"'),
    ),
  })
  .map(({ name: planName, services, flow, anchors, version }) =>
    render(planName, services, flow, anchors, version),
  );

function render(
  planName: string,
  services: GenService[],
  flow: boolean,
  anchors: string,
  version: string,
): string {
  const lines = [`version: ${version}`, `name: ${planName}`];
  if (anchors === 'defaults') lines.push('defaults: &defaults', '  retries: 2', '  timeout: 1m');
  lines.push('services:');
  services.forEach((svc, index) => {
    // Dependencies only on earlier services: no cycles, so a plain plan is valid.
    const deps = index === 0 ? [] : [...new Set(svc.deps.map((d) => services[d % index]!.name))];
    const fields: [string, string][] = [['start', svc.start], ...svc.extras];
    if (deps.length > 0) fields.push(['depends_on', `[${deps.join(', ')}]`]);
    const seen = new Set<string>();
    const unique = fields.filter(([key]) => !seen.has(key) && seen.add(key));
    const anchor = anchors === 'alias' && index === 0 ? ' &first' : '';
    if (anchors === 'alias' && index > 0 && index % 2 === 0) {
      lines.push(`  ${svc.name}: *first`);
      return;
    }
    if (flow) {
      const merge = anchors === 'merge' && index > 0 ? `<<: *s0, ` : '';
      const body = unique.map(([k, v]) => `${k}: ${v}`).join(', ');
      lines.push(
        `  ${svc.name}:${anchor || (anchors === 'merge' && index === 0 ? ' &s0' : '')} { ${merge}${body} }`,
      );
    } else {
      lines.push(`  ${svc.name}:${anchor || (anchors === 'merge' && index === 0 ? ' &s0' : '')}`);
      if (anchors === 'merge' && index > 0) lines.push('    <<: *s0');
      for (const [k, v] of unique) lines.push(`    ${k}: ${v}`);
    }
  });
  return `${lines.join('\n')}\n`;
}

/** One change to a plan's text. */
const mutation: fc.Arbitrary<(text: string) => string> = fc.oneof(
  // Delete, duplicate or swap lines: missing keys, duplicate keys, broken nesting.
  fc.nat().map((at) => (text: string) => editLines(text, at, (lines, i) => lines.splice(i, 1))),
  fc.nat().map((at) => (text: string) => editLines(text, at, (lines, i) => lines.splice(i, 0, lines[i]!))),
  fc
    .nat()
    .map(
      (at) => (text: string) =>
        editLines(text, at, (lines, i) => lines.splice(i, 0, lines.splice(i + 1, 1)[0] ?? '')),
    ),
  // Re-indent a line.
  fc.tuple(fc.nat(), fc.constantFrom('', ' ', '   ', '\t', '      ')).map(
    ([at, indent]) =>
      (text: string) =>
        mapLine(text, at, (line) => indent + line.trimStart()),
  ),
  // Replace a value with a random or tricky scalar, a list, a map, an anchor or an alias.
  fc
    .tuple(
      fc.nat(),
      fc.oneof(
        fc.constantFrom(...TRICKY_SCALARS),
        fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
        fc.string({ maxLength: 8 }),
        fc.constantFrom(
          '[]',
          '{}',
          '[a, b]',
          '{a: 1}',
          '&x 1',
          '*x',
          '*nope',
          '!foo x',
          '!!binary aGk=',
          '|\n  x',
          '>-',
          '"',
          "'",
          '[',
          '{',
          '- x',
          '? x',
          '<<: *x',
        ),
      ),
    )
    .map(
      ([at, value]) =>
        (text: string) =>
          mapLine(text, at, (line) => line.replace(/:\s.*$|:$/, `: ${value}`)),
    ),
  // Rename a key: a typo, a random word, another known key.
  fc
    .tuple(
      fc.nat(),
      fc.oneof(
        fc.constantFrom(
          'strat',
          'depnds_on',
          'tiemout',
          'stage',
          'host',
          'hosts',
          'stages',
          'version',
          'name',
          '<<',
          '~',
          '"a b"',
          'services',
        ),
        name,
      ),
    )
    .map(
      ([at, key]) =>
        (text: string) =>
          mapLine(text, at, (line) => line.replace(/^(\s*(?:- )?)[^:\s]+:/, `$1${key}:`)),
    ),
  // Random bytes, inserted or overwritten; truncation.
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 6 })).map(([at, bytes]) => (text: string) => {
    const i = at % (text.length + 1);
    return text.slice(0, i) + Buffer.from(bytes).toString('latin1') + text.slice(i);
  }),
  fc
    .tuple(fc.nat(), fc.constantFrom(...':-[]{}#&*!|>\'"%@`,?\n\t\\ '.split('')))
    .map(([at, char]) => (text: string) => {
      const i = at % (text.length + 1);
      return text.slice(0, i) + char + text.slice(i + 1);
    }),
  fc.nat().map((at) => (text: string) => text.slice(0, at % (text.length + 1))),
  // Deep nesting, in flow and block style.
  fc
    .tuple(
      fc.nat(),
      fc.oneof(
        { weight: 5, arbitrary: fc.integer({ min: 10, max: 100 }) },
        fc.integer({ min: 100, max: 3000 }),
      ),
      fc.boolean(),
    )
    .map(
      ([at, depth, flowStyle]) =>
        (text: string) =>
          editLines(text, at, (lines, i) => {
            const nested = flowStyle
              ? `${'['.repeat(depth)}1${']'.repeat(depth)}`
              : `\n${Array.from({ length: Math.min(depth, 300) }, (_, d) => `${'  '.repeat(d + 3)}k${d}:`).join('\n')} x`;
            lines[i] = lines[i]!.replace(/:\s.*$|:$/, `: ${nested}`);
          }),
    ),
  // Anchor a service and alias it elsewhere, or merge it.
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => (text: string) => {
    const lines = text.split('\n');
    const keys = lines.map((l, i) => [l, i] as const).filter(([l]) => /^ {2}\w[^:]*:\s*$/.test(l));
    if (keys.length < 2) return text;
    const [from, fi] = keys[a % keys.length]!;
    const [, ti] = keys[b % keys.length]!;
    lines[fi] = `${from} &anc`;
    lines[ti] = `${lines[ti]!.replace(/:\s*$/, '')}: *anc`;
    return lines.join('\n');
  }),
);

function mapLine(text: string, at: number, edit: (line: string) => string): string {
  const lines = text.split('\n');
  const i = at % lines.length;
  lines[i] = edit(lines[i]!);
  return lines.join('\n');
}

function editLines(text: string, at: number, edit: (lines: string[], index: number) => void): string {
  const lines = text.split('\n');
  edit(lines, at % lines.length);
  return lines.join('\n');
}

/** A generated plan with up to four mutations. */
export const mutatedPlanText: fc.Arbitrary<string> = fc
  .tuple(planText, fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([text, edits]) => edits.reduce((current, edit) => edit(current), text));

/** Most fuzz inputs are mutated; some are generated plans as they are, valid or not by spelling. */
export const fuzzPlanText: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: planText },
  { weight: 4, arbitrary: mutatedPlanText },
);
