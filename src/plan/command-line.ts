import { split } from 'shlex';
import type { Result } from '../util/result.js';
import { err, ok } from '../util/result.js';
import { parseTemplate, type Template, type TemplatePart } from './interpolate.js';

/**
 * Splits a command string into argv words the way a POSIX shell splits words and quotes
 * (shlex), without running a shell. Variables are spliced in after splitting, so a value is
 * always exactly one argument (or part of one): it is never split again or read as quotes.
 */
export function splitCommandLine(input: string): Result<Template[], string> {
  const template = parseTemplate(input);
  if (!template.ok) return template;

  // Stand-ins that shlex treats as ordinary characters, one per non-text part.
  const spliced: TemplatePart[] = [];
  let line = '';
  for (const part of template.value) {
    if (part.kind === 'text') {
      line += part.text;
    } else {
      line += `\uE000${spliced.length}\uE001`;
      spliced.push(part);
    }
  }

  let words: string[];
  try {
    words = split(line);
  } catch (error) {
    const reason = String((error as Error).message).includes('quoted')
      ? 'a quote is not closed'
      : 'it ends in the middle of an escape (a trailing "\\")';
    return err(`cannot split this command into arguments: ${reason}`);
  }
  if (words.length === 0) return err('the command is empty');

  return ok(
    words.map((word) => {
      const parts: Template = [];
      for (const piece of word.split(/(\uE000\d+\uE001)/)) {
        if (piece === '') continue;
        const index = /^\uE000(\d+)\uE001$/.exec(piece);
        parts.push(index ? (spliced[Number(index[1])] as TemplatePart) : { kind: 'text', text: piece });
      }
      // An argument written as "" stays an (empty) argument.
      return parts.length > 0 ? parts : [{ kind: 'text', text: '' }];
    }),
  );
}
