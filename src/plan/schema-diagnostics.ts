import type { z } from 'zod';
import { closest } from '../util/closest.js';
import { explainDuration } from '../util/duration.js';
import type { PathSegment } from './locate.js';
import { leafKinds, NAME_PATTERN, Plan, type RawPlan } from './schema.js';
import { compileCheck } from './schema-check.js';
import {
  chooseOption,
  defOf,
  describeExpected,
  describeValue,
  enumValues,
  formatPath,
  knownKeys,
  type Schema,
  schemaAt,
  unwrap,
  valueAt,
} from './schema-walk.js';
import type { Sink } from './sink.js';

type Issue = z.core.$ZodIssue;

/** Checks plain plan data against the schema, reporting every structural problem with its location. */
export function checkSchema(data: unknown, sink: Sink): RawPlan | undefined {
  // A valid plan is the common case: said valid by a check that copies nothing, it is its own
  // typed form (schema-check.ts). Otherwise zod says what is wrong, and where.
  if (compileCheck(Plan)?.(data)) return data as RawPlan;
  const result = Plan.safeParse(data);
  if (result.success) return result.data;
  for (const issue of result.error.issues) mapIssue(issue, [], data, sink);
  return undefined;
}

const NAME_RE = new RegExp(NAME_PATTERN);

function mapIssue(issue: Issue, prefix: readonly PathSegment[], data: unknown, sink: Sink): void {
  const path: PathSegment[] = [...prefix, ...(issue.path as PathSegment[])];
  const value = valueAt(data, path);
  const schema = schemaAt(Plan, path, data);
  const kind = schema ? leafKinds.get(schema)?.kind : undefined;
  const where = formatPath(path);
  const label = where ? `${where}: ` : '';

  if (kind === 'version' && value !== undefined) {
    sink.report(
      path,
      'unsupported-version',
      `version ${JSON.stringify(value)} is not supported; this restore reads plan version 1`,
      'write `version: 1`',
    );
    return;
  }

  if (
    value === undefined &&
    path.length > 0 &&
    (issue.code === 'invalid_type' || issue.code === 'invalid_union')
  ) {
    const parent = formatPath(path.slice(0, -1));
    sink.report(
      path,
      'missing-key',
      `${parent ? `${parent}: ` : ''}missing required key "${String(path.at(-1))}"`,
      undefined,
      'missing',
    );
    return;
  }

  switch (issue.code) {
    case 'invalid_type': {
      if (path.length === 0) {
        const found =
          value === null || value === undefined ? 'the file is empty' : `found ${describeValue(value)}`;
        sink.report(path, 'invalid-type', `a plan is a mapping with version, name and services; ${found}`);
        return;
      }
      if (kind === 'duration') {
        const { message, hint } = explainDuration(value);
        sink.report(path, 'invalid-duration', `${label}${message}`, hint);
        return;
      }
      if (kind === 'name') {
        sink.report(path, 'invalid-name', `${label}expected a name, found ${describeValue(value)}`);
        return;
      }
      const expected = schema ? describeExpected(schema) : issue.expected;
      sink.report(path, 'invalid-type', `${label}expected ${expected}, found ${describeValue(value)}`);
      return;
    }
    case 'invalid_format': {
      if (kind === 'duration') {
        const { message, hint } = explainDuration(value);
        sink.report(path, 'invalid-duration', `${label}${message}`, hint);
      } else if (kind === 'name') {
        reportBadName(sink, path, value, 'value');
      } else if (kind === 'env-name') {
        sink.report(
          path,
          'invalid-value',
          `${label}${JSON.stringify(value)} is not an environment variable name`,
          'use letters, digits and _, not starting with a digit',
        );
      } else {
        sink.report(
          path,
          'invalid-value',
          `${label}${JSON.stringify(value)} is not a valid value here`,
          formatHint(path),
        );
      }
      return;
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const word = issue.code === 'too_small' ? 'at least' : 'at most';
      let message: string;
      if (issue.origin === 'array')
        message = `${label}must list ${word} ${String(bound)} item${bound === 1 ? '' : 's'}`;
      else if (issue.origin === 'string') message = `${label}must not be empty`;
      else message = `${label}must be ${word} ${String(bound)}, found ${describeValue(value)}`;
      sink.report(path, 'invalid-value', message);
      return;
    }
    case 'invalid_value': {
      const allowed = schema ? enumValues(schema) : issue.values.map(String);
      const guess = typeof value === 'string' ? closest(value, allowed) : undefined;
      sink.report(
        path,
        'invalid-value',
        `${label}${describeValue(value)} is not allowed; expected one of ${allowed.join(', ')}`,
        guess ? `did you mean "${guess}"?` : valueHint(path),
      );
      return;
    }
    case 'unrecognized_keys': {
      const keys = knownKeys(schemaAt(Plan, path, data));
      for (const key of issue.keys) {
        const guess = closest(key, keys);
        // A target is a promise about one thing, not a setting every service inherits (SPEC section 10).
        const rtoHint =
          key === 'rto' && path.length === 1 && path[0] === 'defaults'
            ? 'set `rto` at the top level of the plan, on a stage or on a service; defaults cannot hold one'
            : undefined;
        sink.report(
          [...path, key],
          'unknown-key',
          `${label}unknown key "${key}"`,
          rtoHint ??
            (guess
              ? `did you mean "${guess}"?`
              : keys.length > 0
                ? `known keys: ${keys.join(', ')}`
                : undefined),
          'key',
        );
      }
      return;
    }
    case 'invalid_union': {
      const union = schemaAt(Plan, path.slice(0, -1), data);
      const member = unionAt(union, path.at(-1));
      const options = member ? (defOf(member).options ?? []) : [];
      const option = chooseOption(options, value);
      const index = option ? options.indexOf(option) : -1;
      const branch = index >= 0 ? issue.errors[index] : undefined;
      if (branch && branch.length > 0) {
        for (const inner of branch) mapIssue(inner, path, data, sink);
        return;
      }
      const expected = member ? describeExpected(member) : 'another kind of value';
      sink.report(path, 'invalid-type', `${label}expected ${expected}, found ${describeValue(value)}`);
      return;
    }
    case 'invalid_key': {
      // The key of a record (a service name) is bad; its value is still checked, so that
      // every problem is reported at once.
      reportBadName(sink, path, path.at(-1), 'key');
      const record = schemaAt(Plan, path.slice(0, -1), data);
      const valueType = record ? defOf(unwrap(record)).valueType : undefined;
      if (valueType) {
        const inner = (valueType as z.ZodType).safeParse(value);
        if (!inner.success) for (const nested of inner.error.issues) mapIssue(nested, path, data, sink);
      }
      return;
    }
    default:
      sink.report(path, 'invalid-value', `${label}${issue.message}`);
  }
}

/** The union schema found at `key` inside `parent`, if the member there is a union. */
function unionAt(parent: Schema | undefined, key: PathSegment | undefined): Schema | undefined {
  if (!parent || key === undefined) return undefined;
  const def = defOf(unwrap(parent));
  const child =
    def.type === 'object'
      ? def.shape?.[String(key)]
      : def.type === 'record'
        ? def.valueType
        : def.type === 'array'
          ? def.element
          : undefined;
  if (!child) return undefined;
  const plain = unwrap(child);
  return defOf(plain).type === 'union' ? plain : undefined;
}

function reportBadName(sink: Sink, path: PathSegment[], value: unknown, target: 'key' | 'value'): void {
  const text = String(value);
  const suggestion = text
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  sink.report(
    path,
    'invalid-name',
    `${JSON.stringify(text)} is not a valid name: names appear in file names, so only lower-case letters, digits, "_", "." and "-" are allowed (starting with a letter or digit, at most 63 characters)`,
    NAME_RE.test(suggestion) && suggestion !== text ? `did you mean "${suggestion}"?` : undefined,
    target,
  );
}

function valueHint(path: readonly PathSegment[]): string | undefined {
  if (path.at(-1) === 'condition' && path.at(-3) === 'depends_on')
    return '`healthy` waits until the dependency is healthy, `started` only until its start command has succeeded';
  return undefined;
}

function formatHint(path: readonly PathSegment[]): string | undefined {
  if (path.at(-1) === 'status') return 'use a code (200), a list ([200, 204]) or a class ("2xx")';
  if (path.at(-1) === 'max_failures')
    return 'write a count of failures (2) or a share of the stage\'s services ("25%")';
  if (path.at(-1) === 'sha256') return 'a SHA-256 is 64 hex digits, as `sha256sum` prints it';
  return undefined;
}
