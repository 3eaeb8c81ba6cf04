import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { fuzzPlanText, planText } from '../../bench/fuzz-plans.js';
import { parseYamlFast, parseYamlLeniently } from '../../src/plan/parse.js';
import { Plan } from '../../src/plan/schema.js';
import { compileCheck } from '../../src/plan/schema-check.js';

/**
 * The copy-free check that accepts a valid plan before zod is asked (schema-check.ts) must give
 * zod's verdict, and where it says yes, zod's output must be the data itself.
 */
const planCheck = compileCheck(Plan);

function expectZodVerdict(data: unknown, label: string): boolean {
  const parsed = Plan.safeParse(data);
  expect(planCheck?.(data), label).toBe(parsed.success);
  if (parsed.success) expect(parsed.data, label).toEqual(data);
  return parsed.success;
}

const base = { version: 1, name: 'p', services: { a: { start: 'x' } } };
const withService = (service: Record<string, unknown>) => ({ ...base, services: { a: service } });

describe('schema check: zod verdict without a copy', () => {
  it('compiles for the whole plan schema, so valid plans skip zod', () => {
    expect(planCheck).toBeTypeOf('function');
    expect(planCheck?.(base)).toBe(true);
  });

  it('a schema with a kind of check it does not know compiles to nothing (zod decides)', () => {
    expect(compileCheck(z.string().email())).toBeUndefined();
    expect(compileCheck(z.string().transform((s) => s.length))).toBeUndefined();
    expect(compileCheck(z.object({ a: z.string() }))).toBeUndefined(); // not strict: zod strips keys
    expect(compileCheck(z.record(z.enum(['a', 'b']), z.string()))).toBeUndefined();
    expect(compileCheck(z.coerce.number())).toBeUndefined();
  });

  it.each<[string, unknown]>([
    ['an empty services map (refine)', { ...base, services: {} }],
    ['an unknown key', withService({ start: 'x', strat: 'y' })],
    ['a bad service name', { ...base, services: { A: { start: 'x' } } }],
    ['a __proto__ service name', { ...base, services: JSON.parse('{"__proto__":{"start":"x"}}') }],
    ['an empty start', withService({ start: '' })],
    ['an empty argv', withService({ start: [] })],
    ['argv of numbers and strings', withService({ start: ['sleep', 1] })],
    ['retries 0 (allowed) and -1', withService({ start: 'x', retries: 0 })],
    ['retries -1', withService({ start: 'x', retries: -1 })],
    ['retries 1.5', withService({ start: 'x', retries: 1.5 })],
    ['retries 2^53', withService({ start: 'x', retries: 2 ** 53 })],
    ['a port 65535 and 65536', withService({ health: [{ tcp: { port: 65535 } }] })],
    ['a port 65536', withService({ health: [{ tcp: { port: 65536 } }] })],
    ['an env value of Infinity', withService({ start: 'x', env: { A: Number.POSITIVE_INFINITY } })],
    ['an env value of NaN', withService({ start: 'x', env: { A: Number.NaN } })],
    ['an env value of null', withService({ start: 'x', env: { A: null } })],
    ['a bad env name', withService({ start: 'x', env: { '1A': 'x' } })],
    ['a method and status', withService({ health: [{ http: { url: 'u', method: 'HEAD', status: '2xx' } }] })],
    ['a lower-case method', withService({ health: [{ http: { url: 'u', method: 'get' } }] })],
    ['a status class 6xx', withService({ health: [{ http: { url: 'u', status: '6xx' } }] })],
    ['an empty status list', withService({ health: [{ http: { url: 'u', status: [] } }] })],
    ['a health object', withService({ health: { checks: [{ exec: ['true'] }], interval: '1s' } })],
    ['a bad duration', withService({ start: 'x', timeout: '1 s' })],
    ['version 2', { ...base, version: 2 }],
    ['version "1"', { ...base, version: '1' }],
    ['no name', { version: 1, services: base.services }],
    ['a list for a plan', [base]],
    ['null', null],
    ['empty stages', { ...base, stages: [] }],
    ['hosts', { ...base, hosts: { h: { address: 'a', port: 22, ssh_options: { A: true } } } }],
    ['a host without address', { ...base, hosts: { h: { port: 22 } } }],
    ['a sparse argv', withService({ start: new Array(2) })],
  ])('%s: the same verdict as zod', (label, data) => {
    expectZodVerdict(data, label);
  });

  it('generated plans, valid and mutated: the same verdict as zod, and zod returns the data unchanged', () => {
    let valid = 0;
    fc.assert(
      fc.property(fc.oneof(planText, fuzzPlanText), (text) => {
        const data = parseYamlFast(text, { always: true }) ?? parseYamlLeniently(text);
        if (expectZodVerdict(data, JSON.stringify(text))) valid += 1;
      }),
      { numRuns: 400, seed: 20_26 },
    );
    // Both verdicts were compared: a generator that only made invalid plans would prove little.
    expect(valid).toBeGreaterThan(20);
  });
});
