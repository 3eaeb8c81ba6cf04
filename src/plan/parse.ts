import { CORE_SCHEMA, load } from 'js-yaml';
import { type Document, LineCounter, parseDocument, visit } from 'yaml';
import type { Diagnostic } from './diagnostic.js';

/** Aliases may expand to at most this many nodes; beyond it the file is an alias bomb. */
export const MAX_ALIAS_COUNT = 1000;

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
  const lines = new LineCounter();
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const doc = parseDocument(source, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    merge: true,
    strict: true,
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
  if (diagnostics.length > 0) return { file, doc, lines, data: undefined, diagnostics };

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
  return { file, doc, lines, data, diagnostics };
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
  let offset = 0;
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

// Anchors, aliases, merge keys and tags: anything where two parsers could disagree or that needs
// the alias budget goes through the full parser.
const NEEDS_FULL_PARSER = /(^|[\s[{,:-])[&*!][^\s\]},]|<</m;

/**
 * The plain data of a plan in about a tenth of the time of `parseYaml` (js-yaml, YAML 1.2 core
 * schema, duplicate keys refused), or undefined when the file needs the full parser: it has YAML
 * errors, anchors, aliases, merge keys or tags. Only used to accept a valid plan quickly; every
 * diagnostic comes from `parseYaml`, which knows where each node is.
 */
export function parseYamlFast(text: string): unknown {
  if (NEEDS_FULL_PARSER.test(text) || NOT_TEXT.test(text)) return undefined;
  try {
    return load(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, { schema: CORE_SCHEMA, json: false });
  } catch {
    return undefined;
  }
}
