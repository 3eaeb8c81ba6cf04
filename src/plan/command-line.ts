import type { Result } from '../util/result.js';
import { err, ok } from '../util/result.js';
import { parseTemplate, type Template, type TemplatePart } from './interpolate.js';

/** The characters that end a run of ordinary ones, in each quoting state. */
const IN_SINGLE = /'/g;
const IN_DOUBLE = /["\\]/g;
const UNQUOTED = /[\\'" \t\n\r]/g;

/** A command without quotes, backslashes or `$`, and what separates its words. */
const PLAIN_COMMAND = /^[^\\'"$]*$/;
const BLANKS = /[ \t\n\r]+/;

/**
 * The words of a command that has no quote, backslash or `$` (most commands: `pg_ctl start -w`),
 * exactly as `splitCommandLine` gives them, as strings, without a template per word: undefined
 * for any other command, and for one without words (`splitCommandLine` tells what is wrong).
 */
export function plainWords(input: string): string[] | undefined {
  if (!PLAIN_COMMAND.test(input)) return undefined;
  const words = input.split(BLANKS);
  if (words[0] === '') words.shift();
  if (words.at(-1) === '') words.pop();
  return words.length > 0 ? words : undefined;
}

/**
 * Splits a command string into argv words the way a POSIX shell splits words and quotes,
 * without running a shell: whitespace separates words; `'...'` is literal; inside `"..."` a
 * backslash escapes only `$`, `` ` ``, `"`, `\` and newline; outside quotes a backslash escapes any
 * character. There is no expansion of any kind (`*`, `;`, `|`, `>` are plain characters).
 *
 * Variables (`${NAME}`, `$$`) are found first and kept as opaque parts of the word they sit in,
 * so a value is always exactly one argument (or part of one): never split again, never read as
 * quotes. Hand-written because the `shlex` package re-processes escapes of earlier parts of a word
 * when a double-quoted part closes (`'a\\b'"c"` gives `a\bc`, a shell gives `a\\bc`).
 */
export function splitCommandLine(input: string): Result<Template[], string> {
  const template = parseTemplate(input);
  if (!template.ok) return template;

  const words: Template[] = [];
  let word: Template | undefined;
  let text = '';
  let quote: "'" | '"' | undefined;
  let escaped = false;

  const flushText = () => {
    if (text === '') return;
    word ??= [];
    word.push({ kind: 'text', text });
    text = '';
  };
  const endWord = () => {
    flushText();
    if (word) words.push(word.length > 0 ? word : [{ kind: 'text', text: '' }]);
    word = undefined;
  };

  for (const part of template.value) {
    if (part.kind !== 'text') {
      if (escaped)
        return err(
          'a "\\" before "${" or "$$" escapes nothing: variables are not shell syntax; write "$${" for a literal "${"',
        );
      flushText();
      word ??= [];
      word.push(part as TemplatePart);
      continue;
    }
    // Runs of ordinary characters are copied as one slice: one character at a time, a command of
    // megabytes took seconds of string building.
    const source = part.text;
    let i = 0;
    while (i < source.length) {
      if (escaped) {
        const char = source[i]!;
        i += 1;
        escaped = false;
        if (quote === '"' && !'$`"\\\n'.includes(char)) text += '\\';
        if (char !== '\n') text += char;
        word ??= [];
        continue;
      }
      const special = quote === "'" ? IN_SINGLE : quote === '"' ? IN_DOUBLE : UNQUOTED;
      special.lastIndex = i;
      const end = special.exec(source)?.index ?? source.length;
      text += source.slice(i, end);
      if (end === source.length) break;
      const char = source[end]!;
      i = end + 1;
      if (quote === "'") {
        quote = undefined; // the closing '
        continue;
      }
      if (char === '\\') {
        escaped = true;
        continue;
      }
      if (quote === '"') {
        quote = undefined; // the closing "
        continue;
      }
      if (char === "'" || char === '"') {
        quote = char;
        word ??= []; // "" is an (empty) argument
        continue;
      }
      endWord(); // whitespace
    }
  }
  if (quote) return err('cannot split this command into arguments: a quote is not closed');
  if (escaped)
    return err('cannot split this command into arguments: it ends with a "\\" that escapes nothing');
  endWord();
  if (words.length === 0) return err('the command is empty');
  return ok(words);
}
