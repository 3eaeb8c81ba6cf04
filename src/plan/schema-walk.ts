import type { z } from 'zod';
import type { PathSegment } from './locate.js';

/**
 * Reading the zod schema as data: which schema governs a path, what it expects, in words.
 * Diagnostics need this to name what was expected and to suggest the closest known key.
 */
export type Schema = z.core.$ZodType;

interface Def {
  type: string;
  shape?: Record<string, Schema>;
  keyType?: Schema;
  valueType?: Schema;
  element?: Schema;
  innerType?: Schema;
  options?: readonly Schema[];
  values?: readonly unknown[];
  entries?: Record<string, unknown>;
  in?: Schema;
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch']);

export function defOf(schema: Schema): Def {
  return schema._zod.def as unknown as Def;
}

/** The schema without optional/default wrappers. */
export function unwrap(schema: Schema): Schema {
  let current = schema;
  for (let def = defOf(current); WRAPPERS.has(def.type) && def.innerType; def = defOf(current)) {
    current = def.innerType;
  }
  return current;
}

/** The JavaScript shape a schema accepts at its top level. */
function baseType(schema: Schema): string {
  const def = defOf(unwrap(schema));
  switch (def.type) {
    case 'record':
      return 'object';
    case 'literal':
      return typeof def.values?.[0];
    case 'enum':
      return 'string';
    case 'int':
      return 'number';
    default:
      return def.type;
  }
}

function typeOfValue(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value;
}

/** The union member meant for a value: the one accepting its JavaScript type, if exactly one does. */
export function chooseOption(options: readonly Schema[], value: unknown): Schema | undefined {
  const type = typeOfValue(value);
  const matching = options.filter((option) => baseType(option) === type);
  return matching.length === 1 ? matching[0] : undefined;
}

/** The schema governing a path, choosing union members by the data found along it. */
export function schemaAt(root: Schema, path: readonly PathSegment[], data: unknown): Schema | undefined {
  let schema: Schema | undefined = root;
  let value = data;
  for (const segment of path) {
    schema = pickUnion(schema, value);
    if (!schema) return undefined;
    const def = defOf(schema);
    if (def.type === 'object') schema = def.shape?.[String(segment)];
    else if (def.type === 'record') schema = def.valueType;
    else if (def.type === 'array') schema = def.element;
    else return undefined;
    value =
      value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[segment] : undefined;
  }
  return schema ? (pickUnion(schema, value) ?? unwrap(schema)) : undefined;
}

function pickUnion(schema: Schema | undefined, value: unknown): Schema | undefined {
  if (!schema) return undefined;
  const plain = unwrap(schema);
  const def = defOf(plain);
  if (def.type !== 'union' || !def.options) return plain;
  const option = chooseOption(def.options, value);
  return option ? unwrap(option) : plain;
}

/** The keys an object schema knows, for "did you mean" hints. */
export function knownKeys(schema: Schema | undefined): string[] {
  if (!schema) return [];
  const def = defOf(unwrap(schema));
  if (def.type === 'object' && def.shape) return Object.keys(def.shape);
  if (def.type === 'union' && def.options) return [...new Set(def.options.flatMap((o) => knownKeys(o)))];
  return [];
}

/** What a schema expects, in words: "a string", "a list or a mapping". */
export function describeExpected(schema: Schema): string {
  const plain = unwrap(schema);
  const def = defOf(plain);
  switch (def.type) {
    case 'string':
      return 'a string';
    case 'number':
    case 'int':
      return plain._zod.bag?.format === 'safeint' ? 'a whole number' : 'a number';
    case 'boolean':
      return 'true or false';
    case 'object':
    case 'record':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'literal':
      return (def.values ?? []).map((v) => JSON.stringify(v)).join(' or ');
    case 'enum':
      return `one of ${Object.values(def.entries ?? {}).join(', ')}`;
    case 'union': {
      const words = [...new Set((def.options ?? []).map(describeExpected))];
      return words.length <= 1
        ? (words[0] ?? 'a value')
        : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
    }
    default:
      return 'a value';
  }
}

/** What a value is, in words: `a string ("yes")`, `a number (5)`, `a list`. */
export function describeValue(value: unknown): string {
  switch (typeOfValue(value)) {
    case 'undefined':
    case 'null':
      return 'nothing';
    case 'string': {
      const text = value as string;
      return `a string (${JSON.stringify(text.length > 40 ? `${text.slice(0, 37)}...` : text)})`;
    }
    case 'number':
      return `a number (${String(value)})`;
    case 'boolean':
      return `${String(value)}`;
    case 'array':
      return 'a list';
    case 'object':
      return 'a mapping';
    default:
      return typeof value;
  }
}

/** The enum values of a schema, if it is an enum. */
export function enumValues(schema: Schema): string[] {
  const def = defOf(unwrap(schema));
  return def.type === 'enum' ? Object.values(def.entries ?? {}).map(String) : [];
}

/** A path as a user reads it: `services.api.health.checks[0].http`. */
export function formatPath(path: readonly PathSegment[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(segment)) text += text ? `.${segment}` : segment;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/** The value at a path in plain data. */
export function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}
