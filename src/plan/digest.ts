import { createHash } from 'node:crypto';
import type { ResolvedPlan } from './model.js';

/**
 * `sha256:` + hex of the resolved plan in canonical JSON. It is taken over the display form,
 * where secrets are written as `${NAME}`, so it never depends on a secret's value.
 */
export function planDigest(display: ResolvedPlan): string {
  return `sha256:${createHash('sha256')
    .update(canonicalJson(withoutUnused(display)))
    .digest('hex')}`;
}

/**
 * The plan as digested (never its `notify:` sinks): keys added in v1.1 are left out where the
 * plan does not use them (no `verify:` on a service, no approval beyond `approval: true` on a stage,
 * no `rto` anywhere, no dependency condition beyond a name, no `max_failures`), so that a plan written before them keeps
 * the digest its reviewers approved, and `apply --expect-digest` of that review still holds.
 */
function withoutUnused(plan: ResolvedPlan): unknown {
  const services: Record<string, unknown> = {};
  for (const [name, service] of Object.entries(plan.services)) {
    const { verify, dependencies = [], ...rest } = withoutNoRto(service);
    // Dependencies that are all plain names (healthy, required) say nothing `depends_on` does not.
    const conditions = dependencies.some((dep) => dep.condition !== 'healthy' || !dep.required);
    services[name] =
      verify.length === 0 && !conditions
        ? rest
        : { ...rest, ...(verify.length > 0 ? { verify } : {}), ...(conditions ? { dependencies } : {}) };
  }
  const stages = plan.stages.map((stage) => {
    const { approval_rule: rule, max_failures: budget, ...rest } = withoutNoRto(stage);
    // `approval: true` is one unsigned approval from anyone: `approval` says it all.
    const plain = rule === null || (rule.approvers === 1 && rule.from === null && !rule.signed);
    // `max_failures: 0` is the default written out: no failure is tolerated either way.
    const tolerates = budget !== undefined && budget !== null && budget.written !== 0;
    return plain && !tolerates
      ? rest
      : {
          ...rest,
          ...(plain ? {} : { approval_rule: rule }),
          ...(tolerates ? { max_failures: budget } : {}),
        };
  });
  // Where notifications go is not what is restored: a sink added or a webhook rotated during an
  // incident keeps the reviewed digest, and `--resume` goes on (docs/notifications.md).
  const { notify: _notify, ...restored } = plan;
  return { ...withoutNoRto(restored), services, stages };
}

/**
 * An object without `rto_ms` when it sets no target (SPEC section 10). Resolving leaves the key
 * out already; a null written by other code must not change a v1.0 plan's digest either.
 */
function withoutNoRto<T extends { rto_ms?: number | null }>(value: T): T {
  if (value.rto_ms !== undefined && value.rto_ms !== null) return value;
  const { rto_ms: _, ...rest } = value;
  return rest as T;
}

/**
 * JSON with object keys sorted by UTF-16 code units and no white space: RFC 8785 (JCS) for the
 * values a resolved plan holds (strings, integers, booleans, null, arrays, plain objects).
 * Written here because the `canonicalize` package ships CommonJS with ESM-only typings.
 *
 * The plan of 5,000 services is digested on every `plan` and `apply`: a copy with its keys in
 * sorted order, written by the native JSON.stringify (whose strings and numbers are JCS's), costs
 * about half of building the text key by key in script. An object cannot hold an integer-like key
 * (`"10"`) in sorted order, as those always come first in ascending value, nor a `__proto__` as
 * plain data: a value with such a key is written key by key.
 */
export function canonicalJson(value: unknown): string {
  const copy = sortedCopy(value);
  return copy === UNSORTABLE ? writeCanonical(value) : (JSON.stringify(copy) ?? 'null');
}

const UNSORTABLE: unique symbol = Symbol('unsortable');

function sortedCopy(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('not a finite number');
      return value;
    case 'object':
      break;
    default:
      // Functions, symbols, bigints: whatever the key-by-key writer makes of them.
      return UNSORTABLE;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = sortedCopy(value[i]);
      if (item === UNSORTABLE) return UNSORTABLE;
      out[i] = item;
    }
    return out;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const first = key.charCodeAt(0);
    if ((first >= 48 && first <= 57) || key === '__proto__') return UNSORTABLE;
    const item = record[key];
    if (item === undefined) continue;
    const copy = sortedCopy(item);
    if (copy === UNSORTABLE) return UNSORTABLE;
    out[key] = copy;
  }
  return out;
}

function writeCanonical(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('not a finite number');
    return JSON.stringify(value) ?? 'null';
  }
  // One string built in place, without an array per object and per key list.
  let out: string;
  if (Array.isArray(value)) {
    out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + writeCanonical(value[i]);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  out = '{';
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${writeCanonical(item)}`;
  }
  return `${out}}`;
}
