import fc from 'fast-check';
import { join } from 'shlex';
import { describe, expect, it } from 'vitest';
import { plainWords, splitCommandLine } from '../../src/plan/command-line.js';
import { renderTemplate } from '../../src/plan/interpolate.js';

type Env = Record<string, string>;

/** The argv a command string becomes, with variables taken from `env`. */
function argv(command: string, env: Env = {}): string[] {
  const words = splitCommandLine(command);
  if (!words.ok) throw new Error(`expected "${command}" to split, got: ${words.error}`);
  return words.value.map((word) =>
    renderTemplate(word, (name) => (Object.hasOwn(env, name) ? env[name] : undefined)),
  );
}

function splitError(command: string): string {
  const words = splitCommandLine(command);
  if (words.ok) throw new Error(`expected "${command}" to be rejected, got ${JSON.stringify(words.value)}`);
  return words.error;
}

/** Characters that mean something to a shell or to the splitter, over-represented on purpose. */
const tricky = fc.constantFrom(
  ' ',
  '  ',
  '\t',
  '\n',
  '\r',
  '"',
  "'",
  '\\',
  '\\\\',
  ';',
  '|',
  '&',
  '>',
  '<',
  '*',
  '?',
  '#',
  '~',
  '`',
  '(',
  ')',
  '{',
  '}',
  '=',
  'é',
  '日本',
  '😀',
  '\u00a0',
  '\u0000',
);
const anyText = fc.string({
  unit: fc.oneof(tricky, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
});
/** `$` starts interpolation in a command string, so the round trip is checked on text without it. */
const argText = anyText.map((text) => text.replaceAll('$', ''));

describe('Commands: a string is split into argv like a shell, without a shell (SPEC 2, "Commands")', () => {
  describe('words and quotes', () => {
    it('white space separates words', () => {
      expect(argv('pg_ctl -D /srv/pg start')).toEqual(['pg_ctl', '-D', '/srv/pg', 'start']);
      expect(argv('  a \t b\n c  ')).toEqual(['a', 'b', 'c']);
    });

    it('quotes and backslashes keep white space inside one word', () => {
      expect(argv(`echo "a b" 'c d' e\\ f`)).toEqual(['echo', 'a b', 'c d', 'e f']);
    });

    it('adjacent quoted and unquoted parts form one word', () => {
      expect(argv(`a"b c"'d'e`)).toEqual(['ab cde']);
    });

    it('an empty quoted word stays an empty argument', () => {
      expect(argv(`a "" b ''`)).toEqual(['a', '', 'b', '']);
    });

    it('a single quote inside double quotes and a double quote inside single quotes are literal', () => {
      expect(argv(`"it's" 'say "hi"'`)).toEqual([`it's`, 'say "hi"']);
    });

    it('a backslash escapes a double quote inside double quotes', () => {
      expect(argv(`"a\\"b"`)).toEqual(['a"b']);
    });

    it('a backslash is literal inside single quotes', () => {
      expect(argv(`'a\\b' 'c\\'`)).toEqual(['a\\b', 'c\\']);
    });
  });

  describe('shell metacharacters are plain text: there is no shell', () => {
    it('"a;b | c > d" is five plain words', () => {
      expect(argv('a;b | c > d')).toEqual(['a;b', '|', 'c', '>', 'd']);
    });

    it('globs, redirections, pipes, subshells and comments are passed through as words', () => {
      expect(argv('ls *.log && rm -f 2>&1 `id` $(id) #x')).toEqual([
        'ls',
        '*.log',
        '&&',
        'rm',
        '-f',
        '2>&1',
        '`id`',
        '$(id)',
        '#x',
      ]);
    });

    it('"~" is not expanded', () => {
      expect(argv('cat ~/x')).toEqual(['cat', '~/x']);
    });
  });

  describe('any argv survives being joined with shell quoting and split again', () => {
    it('splitting shlex.join(argv) renders exactly argv, for arbitrary strings without "$"', () => {
      fc.assert(
        fc.property(fc.array(argText, { minLength: 1, maxLength: 6 }), (words) => {
          expect(argv(join(words))).toEqual(words);
        }),
        { numRuns: 500 },
      );
    });

    // Known bug (shlex 3.0.0 `processEscapes` re-reads the whole word when a double-quoted part
    // closes, so backslashes of earlier single-quoted or unquoted parts are unescaped a second time).
    it('backslashes in a single-quoted part are kept when a double-quoted part follows in the same word', () => {
      expect(argv(`'a\\\\b'"c"`)).toEqual(['a\\\\bc']);
      expect(argv(`'C:\\"x'"'"`)).toEqual([`C:\\"x'`]);
      expect(argv(join(["a\\\\b'c"]))).toEqual(["a\\\\b'c"]);
    });

    // Known bug: the stand-ins for variables (U+E000 <index> U+E001) are not escaped, so the same
    // private-use characters written in a command are taken for a variable (or crash the render).
    it('private-use characters in a command are kept as written', () => {
      const written = '\uE0000\uE001';
      expect(argv(`\${A} ${written}`, { A: 'x' })).toEqual(['x', written]);
      expect(argv(`echo ${written}`)).toEqual(['echo', written]);
    });
  });

  describe('variables are spliced in after splitting', () => {
    it("a variable's value is never split into several arguments", () => {
      const value = `a b  "c d" 'e' \\ f;g|h > i`;
      expect(argv('run ${V} end', { V: value })).toEqual(['run', value, 'end']);
    });

    it("a variable's value is never read as quotes, even unbalanced ones", () => {
      expect(argv('echo ${V}', { V: `it's "open` })).toEqual(['echo', `it's "open`]);
    });

    it('a variable inside a word is part of that one word', () => {
      expect(argv('--url=http://${HOST}:${PORT:-80}/x', { HOST: 'a b' })).toEqual(['--url=http://a b:80/x']);
    });

    it('a variable inside quotes is part of the quoted word', () => {
      expect(argv(`"x \${V} y" 'p \${V} q'`, { V: '1 2' })).toEqual(['x 1 2 y', 'p 1 2 q']);
    });

    it('two variables separated by white space are two arguments', () => {
      expect(argv('${A} ${B}', { A: 'a a', B: 'b b' })).toEqual(['a a', 'b b']);
    });

    it('a variable with an empty value is still one (empty) argument', () => {
      expect(argv('a ${E} b', { E: '' })).toEqual(['a', '', 'b']);
    });

    it('"$$" is a literal "$" wherever it appears', () => {
      expect(argv(`echo $$HOME "$$1" '$$x'`)).toEqual(['echo', '$HOME', '$1', '$x']);
    });

    it('"$$" before a quote is a literal "$" and the quote still groups the word', () => {
      expect(argv(`echo $$'a b'`)).toEqual(['echo', '$a b']);
    });

    it('a default value is spliced as one argument too', () => {
      expect(argv('echo ${MSG:-hello world}')).toEqual(['echo', 'hello world']);
    });

    it('any value stays exactly one argument, wherever the variable stands', () => {
      const plainWord = fc.stringMatching(/^[a-z0-9_./=-]{1,8}$/);
      fc.assert(
        fc.property(
          fc.array(plainWord, { maxLength: 3 }),
          anyText,
          fc.array(plainWord, { maxLength: 3 }),
          (before, value, after) => {
            const command = [...before, '${V}', ...after].join(' ');
            expect(argv(command, { V: value })).toEqual([...before, value, ...after]);
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe('commands that cannot be split are errors', () => {
    it.each([`echo "abc`, `echo 'abc`, `a "b 'c" "d`, `'`, `"`])('an unclosed quote: %s', (command) => {
      expect(splitError(command)).toBe('cannot split this command into arguments: a quote is not closed');
    });

    it('a trailing backslash is an error', () => {
      expect(splitError('echo a\\')).toMatch(/escape/);
    });

    it.each(['', ' ', '   ', '\t\n  \r'])(
      'an empty or white-space-only command is an error (%j)',
      (command) => {
        expect(splitError(command)).toBe('the command is empty');
      },
    );

    it('a malformed variable reference is an error', () => {
      expect(splitError('echo ${')).toMatch(/unclosed/);
      expect(splitError('echo ${1A}')).toMatch(/not a variable reference/);
    });
  });
});

describe('Commands without quotes, escapes or variables: the short path', () => {
  const render = (input: string) => {
    const words = splitCommandLine(input);
    return words.ok ? words.value.map((word) => renderTemplate(word, () => undefined)) : undefined;
  };

  it('gives the words splitCommandLine gives, for any such command', () => {
    const plainText = fc.string({
      unit: fc.constantFrom('a', 'b', '-', ' ', '\t', '\n', '\r', '\f', '\v', '*', ';', '|', '>', '=', 'é'),
    });
    fc.assert(
      fc.property(plainText, (input) => {
        expect(plainWords(input), JSON.stringify(input)).toEqual(render(input));
      }),
      { numRuns: 500 },
    );
  });

  it('declines a command with a quote, a backslash or a $, and one without words', () => {
    for (const input of ["echo 'a b'", 'echo "a"', 'a\\ b', 'echo $HOME', 'echo ${A}', '', ' \t\n']) {
      expect(plainWords(input), JSON.stringify(input)).toBeUndefined();
    }
    expect(plainWords(' pg_ctl  start\t-w\n')).toEqual(['pg_ctl', 'start', '-w']);
  });
});
