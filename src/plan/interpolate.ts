import type { Result } from '../util/result.js';
import { err, ok } from '../util/result.js';

/**
 * `${NAME}`, `${NAME:-default}` and `$$` in plan strings (SPEC section 2, "Commands").
 * A `$` followed by anything else is kept as written. `:-` uses the default when the variable
 * is unset or empty, as in POSIX shells and Docker Compose.
 */
export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'dollar' }
  | { kind: 'variable'; name: string; fallback?: string };

export type Template = TemplatePart[];

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Splits a string into literal text and variable references. */
export function parseTemplate(input: string): Result<Template, string> {
  const parts: Template = [];
  let text = '';
  let i = 0;
  while (i < input.length) {
    // Text up to the next "$" is copied as one slice (char by char, megabytes took seconds).
    const dollar = input.indexOf('$', i);
    if (dollar !== i) {
      const end = dollar < 0 ? input.length : dollar;
      text += input.slice(i, end);
      i = end;
      continue;
    }
    const char = input[i];
    const next = input[i + 1];
    if (next === '$') {
      if (text) parts.push({ kind: 'text', text });
      text = '';
      parts.push({ kind: 'dollar' });
      i += 2;
      continue;
    }
    if (next !== '{') {
      text += char;
      i += 1;
      continue;
    }
    const close = input.indexOf('}', i + 2);
    if (close < 0) return err(`unclosed "\${" at character ${i + 1}; write "$$" for a literal "$"`);
    const body = input.slice(i + 2, close);
    const separator = body.indexOf(':-');
    const name = separator >= 0 ? body.slice(0, separator) : body;
    if (!NAME_RE.test(name)) {
      return err(`"\${${body}}" is not a variable reference: use \${NAME} or \${NAME:-default}`);
    }
    if (text) parts.push({ kind: 'text', text });
    text = '';
    parts.push(
      separator >= 0
        ? { kind: 'variable', name, fallback: body.slice(separator + 2) }
        : { kind: 'variable', name },
    );
    i = close + 1;
  }
  if (text) parts.push({ kind: 'text', text });
  return ok(parts);
}

/** The names a template needs that have neither a value nor a default. */
export function unsetVariables(template: Template, lookup: (name: string) => string | undefined): string[] {
  const missing: string[] = [];
  for (const part of template) {
    if (part.kind === 'variable' && part.fallback === undefined && lookup(part.name) === undefined) {
      missing.push(part.name);
    }
  }
  return missing;
}

/** Renders a template; `lookup` decides what a variable becomes (its value, or a redacted form). */
export function renderTemplate(
  template: Template,
  lookup: (name: string) => string | undefined,
  secrets: ReadonlySet<string> = new Set(),
): string {
  let out = '';
  for (const part of template) {
    switch (part.kind) {
      case 'text':
        out += part.text;
        break;
      case 'dollar':
        out += '$';
        break;
      case 'variable': {
        if (secrets.has(part.name)) {
          out += `\${${part.name}}`;
          break;
        }
        const value = lookup(part.name);
        out += value === undefined || value === '' ? (part.fallback ?? value ?? '') : value;
        break;
      }
    }
  }
  return out;
}
