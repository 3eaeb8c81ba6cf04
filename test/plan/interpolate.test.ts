import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTemplate, renderTemplate, type Template, unsetVariables } from '../../src/plan/interpolate.js';

type Env = Record<string, string | undefined>;

const lookupIn =
  (env: Env) =>
  (name: string): string | undefined =>
    Object.hasOwn(env, name) ? env[name] : undefined;

function parsed(input: string): Template {
  const result = parseTemplate(input);
  if (!result.ok) throw new Error(`expected "${input}" to parse, got: ${result.error}`);
  return result.value;
}

/** Parses and renders in one step, as the resolver does for an environment value. */
function render(input: string, env: Env = {}, secrets: ReadonlySet<string> = new Set()): string {
  return renderTemplate(parsed(input), lookupIn(env), secrets);
}

function parseError(input: string): string {
  const result = parseTemplate(input);
  if (result.ok) throw new Error(`expected "${input}" to be rejected, got ${JSON.stringify(result.value)}`);
  return result.error;
}

const variableName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/);
const textWithoutDollar = fc.string({ unit: 'binary' }).map((text) => text.replaceAll('$', ''));

describe('Interpolation in plan strings (SPEC 2, "Commands")', () => {
  describe('$$ is a literal $', () => {
    it.each([
      ['$$', '$'],
      ['a$$b', 'a$b'],
      ['$$$$', '$$'],
      ['cost: $$5', 'cost: $5'],
      ['$${HOME}', '${HOME}'],
      ['$$$${A}', '$${A}'],
    ])('"%s" renders as "%s"', (input, output) => {
      expect(render(input, { HOME: '/root', A: 'x' })).toBe(output);
    });

    it('"$${NAME}" never looks the variable up', () => {
      const asked: string[] = [];
      const out = renderTemplate(parsed('$${SECRET}'), (name) => {
        asked.push(name);
        return 'value';
      });
      expect(out).toBe('${SECRET}');
      expect(asked).toEqual([]);
    });

    it('"$$" followed by a variable renders a $ then the value', () => {
      expect(render('$$${A}', { A: 'x' })).toBe('$x');
    });
  });

  describe('${NAME} and ${NAME:-default}', () => {
    it('a set variable renders as its value', () => {
      expect(render('postgres://app:${PW}@127.0.0.1/app', { PW: 'hunter2' })).toBe(
        'postgres://app:hunter2@127.0.0.1/app',
      );
    });

    it('a variable set to the empty string renders as nothing', () => {
      expect(render('[${A}]', { A: '' })).toBe('[]');
    });

    it('an unset variable without a default renders as nothing (validation reports it first)', () => {
      expect(render('[${A}]')).toBe('[]');
    });

    it('the default is used when the variable is unset', () => {
      expect(render('${PORT:-8080}')).toBe('8080');
    });

    it('the default is used when the variable is set but empty', () => {
      expect(render('${PORT:-8080}', { PORT: '' })).toBe('8080');
    });

    it('the default is not used when the variable has a value', () => {
      expect(render('${PORT:-8080}', { PORT: '9090' })).toBe('9090');
    });

    it('an empty default renders as nothing', () => {
      expect(render('[${A:-}]')).toBe('[]');
    });

    it('a default runs to the first "}" and may hold spaces, colons and dashes', () => {
      expect(render('${A:-a b:-c}')).toBe('a b:-c');
      expect(render('${URL:-http://localhost:8080/x}')).toBe('http://localhost:8080/x');
    });

    it('a value is inserted as written: it is not interpolated again', () => {
      expect(render('${A}', { A: '${B}', B: 'no' })).toBe('${B}');
      expect(render('${A}', { A: '$$' })).toBe('$$');
    });

    it('names are case-sensitive and may hold underscores and digits after the first character', () => {
      expect(render('${a}${A}${_x1}', { a: 'lower', A: 'UPPER', _x1: '!' })).toBe('lowerUPPER!');
    });

    it('the parts of a template are text, literal dollars and variables, in order', () => {
      expect(parsed('a${B}$$c${D:-e}')).toEqual([
        { kind: 'text', text: 'a' },
        { kind: 'variable', name: 'B' },
        { kind: 'dollar' },
        { kind: 'text', text: 'c' },
        { kind: 'variable', name: 'D', fallback: 'e' },
      ]);
    });

    it('an empty string is an empty template', () => {
      expect(parsed('')).toEqual([]);
      expect(render('')).toBe('');
    });

    it('any sequence of text, $$ and variables renders piece by piece', () => {
      const piece = fc.oneof(
        textWithoutDollar.map((text) => ({ source: text, expect: () => text })),
        fc.constant({ source: '$$', expect: () => '$' }),
        fc
          .tuple(variableName, fc.option(textWithoutDollar.map((t) => t.replaceAll('}', ''))))
          .map(([name, fallback]) => ({
            source: fallback === null ? `\${${name}}` : `\${${name}:-${fallback}}`,
            expect: (env: Env) => {
              const value = lookupIn(env)(name);
              return fallback !== null && !value ? fallback : (value ?? '');
            },
          })),
      );
      const env = fc.dictionary(variableName, fc.oneof(fc.constant(''), fc.string({ unit: 'binary' })), {
        maxKeys: 6,
      });
      fc.assert(
        fc.property(fc.array(piece, { maxLength: 8 }), env, (pieces, values) => {
          const source = pieces.map((p) => p.source).join('');
          const expected = pieces.map((p) => p.expect(values)).join('');
          expect(render(source, values)).toBe(expected);
        }),
      );
    });
  });

  describe('a $ not followed by { or $ is kept as written', () => {
    it.each(['$', 'a$', '$A', 'price: 5$', '$ {A}', '$(date)', 'a$b$c', '$}'])('"%s"', (input) => {
      expect(render(input, { A: 'no' })).toBe(input);
    });

    it('text without any $ renders as itself, whatever it holds', () => {
      fc.assert(
        fc.property(textWithoutDollar, (text) => {
          const template = parsed(text);
          expect(template.every((part) => part.kind === 'text')).toBe(true);
          expect(renderTemplate(template, () => 'never used')).toBe(text);
        }),
      );
    });
  });

  describe('malformed references are errors', () => {
    it.each([
      ['an unclosed "${"', '${'],
      ['an unclosed "${NAME"', 'x ${HOME'],
      ['an unclosed default', '${A:-default'],
      ['an empty name', '${}'],
      ['a name starting with a digit', '${1A}'],
      ['a name with a dash', '${MY-VAR}'],
      ['a name with spaces', '${ A }'],
      ['a default with "-" instead of ":-"', '${A-b}'],
      ['a default without a name', '${:-x}'],
      ['a nested reference', '${${A}}'],
    ])('%s ("%s")', (_label, input) => {
      expect(parseError(input)).not.toBe('');
    });

    it('an unclosed reference says where it starts and how to write a literal $', () => {
      const error = parseError('echo ${HOME');
      expect(error).toContain('unclosed');
      expect(error).toContain('character 6');
      expect(error).toContain('"$$"');
    });

    it('a bad name quotes the reference and shows the accepted forms', () => {
      const error = parseError('${1A}');
      expect(error).toContain('"${1A}"');
      expect(error).toContain('${NAME:-default}');
    });
  });

  describe('unset variables (validation error "unset-variable")', () => {
    it('lists the variables with neither a value nor a default, in order', () => {
      const template = parsed('${A} ${B:-b} ${C} ${D}');
      expect(unsetVariables(template, lookupIn({ D: 'set' }))).toEqual(['A', 'C']);
    });

    it('a variable set to the empty string is not unset', () => {
      expect(unsetVariables(parsed('${A}'), lookupIn({ A: '' }))).toEqual([]);
    });

    it('a variable with a default is never unset, even an empty default', () => {
      expect(unsetVariables(parsed('${A:-x}${B:-}'), lookupIn({}))).toEqual([]);
    });

    it('"$${A}" mentions no variable', () => {
      expect(unsetVariables(parsed('$${A}'), lookupIn({}))).toEqual([]);
    });
  });

  describe('secrets never appear in a rendered string', () => {
    it('a secret renders as ${NAME} instead of its value', () => {
      const out = render(
        'postgres://app:${DB_PASSWORD}@db/app',
        { DB_PASSWORD: 'hunter2' },
        new Set(['DB_PASSWORD']),
      );
      expect(out).toBe('postgres://app:${DB_PASSWORD}@db/app');
      expect(out).not.toContain('hunter2');
    });

    it('a secret with a default renders as ${NAME}, not the default', () => {
      expect(render('${TOKEN:-dev}', {}, new Set(['TOKEN']))).toBe('${TOKEN}');
    });

    it('other variables next to a secret still render their values', () => {
      expect(render('${USER}:${PW}', { USER: 'app', PW: 's3cr3t' }, new Set(['PW']))).toBe('app:${PW}');
    });

    it('the rendered string does not depend on a secret value at all', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (one, other) => {
          const secrets = new Set(['PW']);
          const template = parsed('x ${PW} y ${PW:-d}');
          const first = renderTemplate(template, lookupIn({ PW: one }), secrets);
          expect(first).toBe('x ${PW} y ${PW}');
          expect(renderTemplate(template, lookupIn({ PW: other }), secrets)).toBe(first);
        }),
      );
    });
  });
});
