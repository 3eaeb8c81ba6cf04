import type { z } from 'zod';

/**
 * A yes-or-no check of plain data against a zod schema, built once from the schema's own
 * definition (zod stays the schema of record). zod's `safeParse` builds a copy of the data and a
 * result object per value; on a plan of 5,000 services that was a quarter of `validate`. This
 * check builds nothing: when it says yes, zod would have returned the data unchanged (the plan's
 * schemas transform, coerce and default nothing), so the data is the typed plan. When it says
 * no, zod runs as before and its issues become the diagnostics.
 *
 * It knows only the kinds of schema and check that the plan format uses, each with zod 4's rule
 * for it. A schema with anything else compiles to no check at all (undefined), and every plan
 * then goes through zod: a wrong yes is the one mistake this must never make.
 */
export type Check = (value: unknown) => boolean;

interface Def {
  type: string;
  checks?: { _zod: { def: CheckDef } }[];
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  innerType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  values?: unknown[];
  entries?: Record<string, unknown>;
  format?: string;
  coerce?: boolean;
}

interface CheckDef {
  check: string;
  format?: string;
  pattern?: RegExp;
  minimum?: number;
  value?: number;
  inclusive?: boolean;
  fn?: (value: unknown) => unknown;
}

const compiled = new WeakMap<z.ZodType, Check | null>();

/** The check of `schema`, or undefined when it uses something this module does not know. */
export function compileCheck(schema: z.ZodType): Check | undefined {
  let check = compiled.get(schema);
  if (check === undefined) {
    check = build(schema) ?? null;
    compiled.set(schema, check);
  }
  return check ?? undefined;
}

function build(schema: z.ZodType): Check | undefined {
  const def = (schema as unknown as { _zod: { def: Def } })._zod.def;
  if (def.coerce) return undefined;
  const base = buildType(def);
  if (!base) return undefined;
  const refinements: Check[] = [];
  for (const { _zod } of def.checks ?? []) {
    const refinement = buildRefinement(_zod.def, def.type);
    if (!refinement) return undefined;
    refinements.push(refinement);
  }
  if (refinements.length === 0) return base;
  return (value) => {
    if (!base(value)) return false;
    for (const refinement of refinements) if (!refinement(value)) return false;
    return true;
  };
}

function buildType(def: Def): Check | undefined {
  switch (def.type) {
    case 'string':
      return (value) => typeof value === 'string';
    case 'boolean':
      return (value) => typeof value === 'boolean';
    case 'number': {
      const finite: Check = (value) => typeof value === 'number' && Number.isFinite(value);
      if (def.format === undefined) return finite;
      // z.int(): a safe integer (zod's own bounds for the format are the safe range).
      if (def.format === 'safeint') return (value) => Number.isSafeInteger(value);
      return undefined;
    }
    case 'literal': {
      const values = def.values ?? [];
      if (!values.every((v) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))))
        return undefined;
      return (value) => values.includes(value);
    }
    case 'enum': {
      const values = Object.values(def.entries ?? {});
      if (!values.every((v) => typeof v === 'string')) return undefined;
      return (value) => typeof value === 'string' && values.includes(value);
    }
    case 'optional': {
      const inner = def.innerType && build(def.innerType);
      return inner && ((value) => value === undefined || inner(value));
    }
    case 'array': {
      const element = def.element && build(def.element);
      if (!element) return undefined;
      return (value) => {
        if (!Array.isArray(value)) return false;
        for (let i = 0; i < value.length; i++) if (!element(value[i])) return false;
        return true;
      };
    }
    case 'union': {
      const options = (def.options ?? []).map(build);
      if (options.length === 0 || options.some((option) => !option)) return undefined;
      const checks = options as Check[];
      return (value) => {
        for (const option of checks) if (option(value)) return true;
        return false;
      };
    }
    case 'object':
      return buildObject(def);
    case 'record': {
      const key = def.keyType && build(def.keyType);
      const item = def.valueType && build(def.valueType);
      const keyType = def.keyType && (def.keyType as unknown as { _zod: { def: Def } })._zod.def.type;
      // Enum and literal keys make zod's record exhaustive (every value must be present).
      if (!key || !item || keyType !== 'string') return undefined;
      return (value) => {
        if (!isPlainObject(value)) return false;
        for (const name of Reflect.ownKeys(value as object)) {
          // zod passes over a `__proto__` key without a look; leave such data to zod.
          if (typeof name !== 'string' || name === '__proto__') return false;
          if (!key(name) || !item((value as Record<string, unknown>)[name])) return false;
        }
        return true;
      };
    }
    default:
      return undefined;
  }
}

function buildObject(def: Def): Check | undefined {
  // strictObject: zod's catchall is `never`, so any key outside the shape is an issue.
  const catchall = def.catchall && (def.catchall as unknown as { _zod: { def: Def } })._zod.def.type;
  if (catchall !== 'never' || !def.shape) return undefined;
  const shape = def.shape;
  const fields: [string, Check][] = [];
  for (const key of Object.keys(shape)) {
    const field = build(shape[key]!);
    if (!field) return undefined;
    fields.push([key, field]);
  }
  return (value) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    const record = value as Record<string, unknown>;
    for (const [key, field] of fields) if (!field(record[key])) return false;
    for (const key in record) if (!Object.hasOwn(shape, key)) return false;
    return true;
  };
}

function buildRefinement(check: CheckDef, type: string): Check | undefined {
  switch (check.check) {
    case 'min_length': {
      const minimum = check.minimum;
      if (minimum === undefined || (type !== 'string' && type !== 'array')) return undefined;
      return (value) => (value as string | unknown[]).length >= minimum;
    }
    case 'string_format': {
      const pattern = check.pattern;
      if (check.format !== 'regex' || !pattern || type !== 'string') return undefined;
      return (value) => {
        pattern.lastIndex = 0;
        return pattern.test(value as string);
      };
    }
    case 'greater_than': {
      const bound = check.value;
      if (typeof bound !== 'number' || type !== 'number') return undefined;
      return check.inclusive ? (value) => (value as number) >= bound : (value) => (value as number) > bound;
    }
    case 'less_than': {
      const bound = check.value;
      if (typeof bound !== 'number' || type !== 'number') return undefined;
      return check.inclusive ? (value) => (value as number) <= bound : (value) => (value as number) < bound;
    }
    case 'custom': {
      // A `.refine()` whose function answers true; a promise or anything else is left to zod.
      const fn = check.fn;
      return fn && ((value) => fn(value) === true);
    }
    default:
      return undefined;
  }
}

/** zod 4's test before it reads a record: a plain object (its prototype Object's, or none). */
function isPlainObject(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
