import { stripVTControlCharacters } from 'node:util';

/**
 * Service output and messages copied into a report are data, not markup: terminal escape codes
 * go (Node's own stripper: no dependency for what the runtime does), then what is left is escaped
 * for where it lands.
 */

/** Text without terminal escape codes or other control characters (tabs kept). */
export function plainText(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to remove them
  return stripVTControlCharacters(text).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '');
}

/**
 * Inline markdown that shows the text itself, in a code span: no emphasis, links, autolinks or
 * HTML render there. Pipes are escaped for tables (GFM reads `\|` as a pipe in a code span too).
 */
export function markdownCode(text: string): string {
  const flat = plainText(text).replace(/\s+/g, ' ').trim();
  if (flat === '') return '';
  const longest = Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat.replace(/\|/g, '\\|')}${pad}${fence}`;
}

/** A fenced code block that its content cannot close (a longer fence than any run of backticks in it). */
export function markdownCodeBlock(lines: readonly string[]): string {
  const body = lines.map(plainText).join('\n');
  const longest = Math.max(0, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}text\n${body}\n${fence}`;
}

/** Text for an XML attribute or element. */
export function xmlText(text: string): string {
  return plainText(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
