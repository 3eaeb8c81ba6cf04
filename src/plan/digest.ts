import { createHash } from 'node:crypto';
import type { ResolvedPlan } from './model.js';

/**
 * `sha256:` + hex of the resolved plan in canonical JSON. It is taken over the display form,
 * where secrets are written as `${NAME}`, so it never depends on a secret's value.
 */
export function planDigest(display: ResolvedPlan): string {
  return `sha256:${createHash('sha256').update(canonicalJson(display)).digest('hex')}`;
}

/**
 * JSON with object keys sorted by UTF-16 code units and no white space: RFC 8785 (JCS) for the
 * values a resolved plan holds (strings, integers, booleans, null, arrays, plain objects).
 * Written here because the `canonicalize` package ships CommonJS with ESM-only typings.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('not a finite number');
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
}
