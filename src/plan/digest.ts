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
  // One string built in place: the plan of 5,000 services is a digest on every `plan` and
  // `apply`, and an array per object and per key list (map, filter, join) was most of its cost.
  let out: string;
  if (Array.isArray(value)) {
    out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  out = '{';
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `${out}}`;
}
