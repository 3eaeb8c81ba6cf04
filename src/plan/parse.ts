import { FAILSAFE_SCHEMA, load, Type } from 'js-yaml';
import type { Document, LineCounter } from 'yaml';
import type { Diagnostic } from './diagnostic.js';
import { yamlLib } from './yaml-lib.js';

/** Aliases may expand to at most this many nodes; beyond it the file is an alias bomb. */
export const MAX_ALIAS_COUNT = 1000;

/**
 * Lists and maps may nest this deep. A plan needs about eight levels; far deeper data (which the
 * YAML parsers read up to some hundreds of levels) would only give each later check its chance to
 * exhaust the stack.
 */
export const MAX_DEPTH = 64;

/** A plan file parsed as YAML: its document (with source ranges), plain data, and YAML-level problems. */
export interface ParsedYaml {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  /** Plain data of the document; undefined when it could not be built. */
  data: unknown;
  diagnostics: Diagnostic[];
}

/** Where an offset in the source is, 1-based. */
export function positionOf(lines: LineCounter, offset: number): { line: number; column: number } {
  const { line, col } = lines.linePos(Math.max(0, offset));
  return { line, column: col };
}

// C0 controls other than tab, LF and CR, DEL, and the replacement character of bad UTF-8.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const NOT_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffd]/;

/** Parses YAML text, turning every syntax problem into a located diagnostic. */
export function parseYaml(file: string, text: string): ParsedYaml {
  const { LineCounter, parseDocument } = yamlLib();
  const lines = new LineCounter();
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const doc = parseDocument(source, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    merge: true,
    strict: true,
    // `!!binary`, `!!set` and other YAML 1.1 tags stay unresolved strings, refused as unknown tags.
    resolveKnownTags: false,
    // yaml would print a Node warning (stderr, outside any format) for a list or map used as a
    // key; such a key is reported by the checks like any other unknown name.
    logLevel: 'error',
  });
  const diagnostics: Diagnostic[] = [];
  const at = (offset: number) => ({ file, ...positionOf(lines, offset), severity: 'error' as const });

  const binary = NOT_TEXT.exec(source);
  if (binary) {
    const shown =
      binary[0] === '\ufffd'
        ? 'bytes that are not UTF-8'
        : `control character U+${binary[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`;
    diagnostics.push({
      ...at(binary.index),
      code: 'yaml-syntax',
      message: `not a text file: ${shown}`,
      hint: 'a plan is a UTF-8 YAML file',
    });
    return { file, doc, lines, data: undefined, diagnostics };
  }

  for (const error of doc.errors) {
    switch (error.code) {
      case 'DUPLICATE_KEY':
        diagnostics.push({
          ...at(error.pos[0]),
          code: 'duplicate-key',
          message: `duplicate key ${describeKeyAt(source, error.pos)}`,
          hint: 'each key may appear once in a mapping; remove or rename one of them',
        });
        break;
      case 'TAB_AS_INDENT':
        diagnostics.push({
          ...at(error.pos[0]),
          code: 'yaml-syntax',
          message: 'a tab is used for indentation; YAML allows only spaces',
          hint: 'replace the tab with spaces',
        });
        break;
      case 'RESOURCE_EXHAUSTION':
        diagnostics.push({
          ...at(error.pos[0]),
          code: 'yaml-syntax',
          message: 'the YAML nests too deeply to be read (brackets or indentation hundreds of levels deep)',
          hint: `a plan nests a few levels; look for runaway "[" or "{"`,
        });
        break;
      case 'MULTIPLE_DOCS':
        diagnostics.push({
          ...at(error.pos[0]),
          code: 'yaml-syntax',
          message: 'the file holds more than one YAML document (`---`); a plan is one document',
        });
        break;
      default: {
        // An unclosed quote or bracket is detected where the file ends; point at where it opens.
        const opener =
          /closing (["'])quote/.exec(error.message)?.[1] ?? /Flow (sequence|map)/.exec(error.message)?.[1];
        const char = opener === 'sequence' ? '[' : opener === 'map' ? '{' : opener;
        const start = char ? source.lastIndexOf(char, error.pos[0] - 1) : -1;
        if (start >= 0 && char) {
          const what = char === '[' || char === '{' ? `"${char}"` : `quoted string`;
          diagnostics.push({
            ...at(start),
            code: 'yaml-syntax',
            message: `this ${what} is never closed`,
            hint: firstLine(error.message),
          });
        } else {
          diagnostics.push({ ...at(error.pos[0]), code: 'yaml-syntax', message: firstLine(error.message) });
        }
      }
    }
  }
  // yaml may report one unclosed bracket once per level of nesting: each problem is shown once.
  const seen = new Set<string>();
  const unique = diagnostics.filter((d) => {
    const key = `${d.line}:${d.column}:${d.code}:${d.message}`;
    return !seen.has(key) && seen.add(key) !== undefined;
  });
  diagnostics.splice(0, diagnostics.length, ...unique);
  // A duplicate key leaves a well-formed document (the later value wins): the rest of the file is
  // still checked, so that the duplicate is reported alongside every other problem.
  if (diagnostics.some((d) => d.code !== 'duplicate-key'))
    return { file, doc, lines, data: undefined, diagnostics };
  diagnostics.push(...unknownTags(doc, source, at));

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      diagnostics.push({
        ...at(firstAliasOffset(doc)),
        code: 'alias-limit',
        message: `YAML aliases expand to more than ${MAX_ALIAS_COUNT} nodes; refused as an alias bomb`,
        hint: 'write the repeated parts out, or use `defaults:` for shared settings',
      });
      return { file, doc, lines, data: undefined, diagnostics };
    }
    diagnostics.push({ ...at(0), code: 'yaml-syntax', message: firstLine(String((error as Error).message)) });
    return { file, doc, lines, data: undefined, diagnostics };
  }
  if (depthOver(data, MAX_DEPTH)) {
    diagnostics.push({
      ...at(offsetAtDepth(doc, MAX_DEPTH)),
      code: 'yaml-syntax',
      message: `the YAML nests more than ${MAX_DEPTH} levels deep; a plan nests a few`,
      hint: `look for runaway "[" or "{"`,
    });
    return { file, doc, lines, data: undefined, diagnostics };
  }
  return { file, doc, lines, data, diagnostics };
}

/** The core schema's tags; any other (`!!python/object`, `!!js/function`, `!!binary`, `!foo`) is refused. */
const KNOWN_TAGS = new Set(
  ['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`),
);

/** A diagnostic for each node with a tag outside the YAML 1.2 core schema. */
function unknownTags(
  doc: Document.Parsed,
  source: string,
  at: (offset: number) => Omit<Diagnostic, 'code' | 'message'>,
): Diagnostic[] {
  const { isNode, visit } = yamlLib();
  const found: Diagnostic[] = [];
  visit(doc, (_key, node) => {
    if (!isNode(node) || node.tag === undefined || KNOWN_TAGS.has(node.tag)) return;
    const shown = node.tag.replace(/^tag:yaml\.org,2002:/, '!!');
    found.push({
      ...at(tagOffset(source, node.range?.[0] ?? 0)),
      code: 'unknown-tag',
      message: `unknown YAML tag ${shown}; a plan holds plain strings, numbers, booleans, lists and maps`,
      hint: 'remove the tag (quote the value if it must stay a string)',
    });
  });
  return found;
}

/** Where the tag of a node starts: the node's range begins after its tag (and anchor), so step back. */
function tagOffset(source: string, start: number): number {
  let end = start;
  for (let tokens = 0; tokens < 3; tokens++) {
    while (end > 0 && /\s/.test(source[end - 1]!)) end--;
    let begin = end;
    while (begin > 0 && !/\s/.test(source[begin - 1]!)) begin--;
    if (source[begin] === '!') return begin;
    if (source[begin] !== '&') break;
    end = begin;
  }
  return start;
}

/**
 * Whether lists and maps nest deeper than `limit`. Recursive, but never deeper than `limit`.
 * Data with aliases shares objects, and walking each path through them could take exponential
 * time: `shared` then walks each object once (at the depth first found, a bound good enough);
 * the fast parser's data, which has no aliases, is a tree and needs no such bookkeeping.
 */
export function depthOver(data: unknown, limit: number, shared = true): boolean {
  return deeper(data, limit, shared ? new Set<object>() : undefined);
}

function deeper(value: unknown, left: number, seen: Set<object> | undefined): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (left <= 0) return true;
  if (seen) {
    if (seen.has(value)) return false;
    seen.add(value);
  }
  if (Array.isArray(value)) {
    for (const item of value) if (deeper(item, left - 1, seen)) return true;
    return false;
  }
  for (const key in value) {
    if (deeper((value as Record<string, unknown>)[key], left - 1, seen)) return true;
  }
  return false;
}

/** Where the first collection nested `depth` levels deep starts, found without recursion. */
function offsetAtDepth(doc: Document.Parsed, depth: number): number {
  const { isCollection, isPair } = yamlLib();
  const stack: [unknown, number][] = [[doc.contents, 0]];
  while (stack.length > 0) {
    const [node, level] = stack.pop()!;
    if (!isCollection(node)) continue;
    if (level >= depth) return node.range?.[0] ?? 0;
    for (const item of node.items) stack.push([isPair(item) ? item.value : item, level + 1]);
  }
  return 0;
}

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, '');
}

function describeKeyAt(source: string, [start]: [number, number]): string {
  const key = /^(?:"[^"\n]*"|'[^'\n]*'|[^:\n]+?)(?=\s*:)/.exec(source.slice(start, start + 200))?.[0]?.trim();
  return key ? `"${key.replace(/^["']|["']$/g, '')}"` : 'in this mapping';
}

function firstAliasOffset(doc: Document.Parsed): number {
  const { visit } = yamlLib();
  let offset = 0;
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

// Anchors, aliases, merge keys and tags need the alias budget or the tag check of the full parser.
const NEEDS_FULL_PARSER = /(^|[\s[{,:-])[&*!][^\s\]},]|<</m;

// Where the two parsers would read a file differently, it goes to the full parser too (a plan's
// verdict must not depend on the parser): explicit keys; null keys (`~:`, `null:`), which they
// turn into different strings ("" and "null"); and what js-yaml accepts but yaml refuses: a `#`
// right after a closing bracket or quote, a lone CR as line end, flow collections over several
// lines (yaml checks their indentation).
const PARSERS_DIFFER = new RegExp(
  [/^\s*\?(\s|$)/, /(^|[\s[{,?-])(~|[Nn]ull|NULL)[ \t]*:(\s|$)/, /[\]}"']#/, /\r(?!\n)/, /[[{][^\n\]}]*$/]
    .map((re) => re.source)
    .join('|'),
  'm',
);

/**
 * The YAML 1.2 core schema exactly as `yaml` resolves plain scalars (its regular expressions and
 * conversions), so that both parsers give every plan the same data. js-yaml's own CORE_SCHEMA is
 * wider: `0b11`, `-0x1F`, `+0o7` and `+.5` are numbers there and strings in YAML 1.2; a plan's
 * verdict must not depend on which parser read it (issue 10). Plain scalars only: a quoted one is
 * always a string, and any tag sends the file to the full parser.
 */
const scalar = (tag: string, first: string, test: RegExp, construct: (text: string) => unknown) =>
  new Type(`tag:yaml.org,2002:${tag}`, {
    kind: 'scalar',
    // Every plain scalar (every key, every name) is tried against each type in turn: a look at
    // its first character rules most types out without running their expression.
    resolve: (text: string | null) =>
      text !== null && (text === '' ? test.test(text) : first.includes(text[0]!) && test.test(text)),
    construct: (text: string | null) => construct(text ?? ''),
  });

/** js-yaml keeps one implicit type per tag, so each tag's expressions are joined into one. */
export const YAML_12_CORE = FAILSAFE_SCHEMA.extend({
  implicit: [
    // `<<` as `yaml` reads it with `merge: true` (js-yaml merges keys of this tag).
    new Type('tag:yaml.org,2002:merge', { kind: 'scalar', resolve: (text: string | null) => text === '<<' }),
    scalar('null', '~nN', /^(?:~|[Nn]ull|NULL)?$/, () => null),
    scalar('bool', 'tTfF', /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/, (text) => text[0] === 't' || text[0] === 'T'),
    scalar('int', '+-0123456789', /^(?:0o[0-7]+|[-+]?[0-9]+|0x[0-9a-fA-F]+)$/, (text) =>
      text[1] === 'o'
        ? Number.parseInt(text.slice(2), 8)
        : text[1] === 'x'
          ? Number.parseInt(text.slice(2), 16)
          : Number.parseInt(text, 10),
    ),
    scalar(
      'float',
      '+-.0123456789',
      /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*))$/,
      (text) =>
        text.endsWith('nan') || text.endsWith('NaN') || text.endsWith('NAN')
          ? Number.NaN
          : /inf$/i.test(text)
            ? text[0] === '-'
              ? Number.NEGATIVE_INFINITY
              : Number.POSITIVE_INFINITY
            : Number.parseFloat(text),
    ),
  ],
});

/**
 * The plain data of a plan in about a tenth of the time of `parseYaml` (js-yaml with the YAML 1.2
 * core schema of `yaml`, duplicate keys refused), or undefined when the file needs the full
 * parser: it has YAML errors, anchors, aliases, merge keys, tags or explicit keys. Only used to
 * accept a valid plan quickly; every diagnostic comes from `parseYaml`, which knows where each
 * node is.
 */
export function parseYamlFast(text: string, { always = false }: { always?: boolean } = {}): unknown {
  // `always` (tests only): read anchors, aliases and merge keys too, to compare both parsers on them.
  if ((!always && NEEDS_FULL_PARSER.test(text)) || PARSERS_DIFFER.test(text) || NOT_TEXT.test(text)) {
    return undefined;
  }
  try {
    const data = load(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, {
      schema: YAML_12_CORE,
      json: false,
    });
    return depthOver(data, MAX_DEPTH, always) ? undefined : data;
  } catch {
    return undefined;
  }
}

/**
 * Whatever data a plan's text still gives, valid or not, YAML errors or not; undefined if none
 * (an alias bomb, YAML too broken to hold anything). For readers that want what they can get:
 * the secrets of an invalid plan, the names shell completion offers.
 */
export function parseYamlLeniently(text: string): unknown {
  const fast = parseYamlFast(text);
  if (fast !== undefined) return fast;
  try {
    // logLevel: no Node warning on stderr for a list or map used as a key.
    return yamlLib().parseDocument(text, { uniqueKeys: false, logLevel: 'error' }).toJS({
      maxAliasCount: MAX_ALIAS_COUNT,
    });
  } catch {
    return undefined;
  }
}
