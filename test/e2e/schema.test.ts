import { readdirSync, readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EXIT } from '../../src/cli/exit-codes.js';
import { ROOT, runCli } from '../helpers/cli.js';

async function printedSchema(...args: string[]): Promise<Record<string, unknown>> {
  const result = await runCli(['schema', ...args]);
  expect(result.code).toBe(EXIT.ok);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

const examplePlans = readdirSync(`${ROOT}/plans`, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.yaml'))
  .map((file) => `plans/${file}`);

/** Every property schema anywhere in a JSON Schema, with its path. */
function properties(schema: unknown, path = '', into: [string, Record<string, unknown>][] = []) {
  if (Array.isArray(schema)) {
    for (const [i, item] of schema.entries()) properties(item, `${path}[${i}]`, into);
  } else if (schema !== null && typeof schema === 'object') {
    const record = schema as Record<string, unknown>;
    for (const [key, value] of Object.entries((record.properties as object | undefined) ?? {})) {
      into.push([`${path}.${key}`, value as Record<string, unknown>]);
    }
    for (const [key, value] of Object.entries(record)) properties(value, `${path}/${key}`, into);
  }
  return into;
}

function expectValidatorOfThePlanFormat(validate: ((data: unknown) => boolean) & { errors?: unknown }) {
  expect(examplePlans.length).toBeGreaterThan(0);
  for (const file of examplePlans) {
    const ok = validate(parse(readFileSync(`${ROOT}/${file}`, 'utf8')));
    expect(ok, `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
  }
  expect(validate({ version: 1, name: 'x', services: { a: { start: 'x', timeout: 5 } } })).toBe(false);
  expect(validate({ version: 1, name: 'Bad Name', services: { a: {} } })).toBe(false);
  expect(validate({ version: 1, name: 'x', services: { a: { strat: 'x' } } })).toBe(false);
}

describe('restore schema', () => {
  it('prints JSON Schema draft-07 of the plan format by default (what yaml-language-server supports)', async () => {
    const schema = await printedSchema();
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.required).toEqual(['version', 'name', 'services']);
    expect(schema.additionalProperties).toBe(false);
  });

  it('--draft 2020-12 prints JSON Schema 2020-12', async () => {
    const schema = await printedSchema('--draft', '2020-12');
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  it('is the schema the validator uses: example plans pass it with a draft-07 validator, broken ones fail it', async () => {
    expectValidatorOfThePlanFormat(
      new Ajv({ strict: false, allErrors: true }).compile(await printedSchema()),
    );
  });

  it('the 2020-12 form agrees, with a 2020-12 validator', async () => {
    const schema = await printedSchema('--draft', '2020-12');
    expectValidatorOfThePlanFormat(new Ajv2020({ strict: false, allErrors: true }).compile(schema));
  });

  it('every property has a description, for editors', async () => {
    const all = properties(await printedSchema());
    expect(all.length).toBeGreaterThan(40);
    expect(all.filter(([, schema]) => typeof schema.description !== 'string').map(([path]) => path)).toEqual(
      [],
    );
  });

  it('keys with a built-in default carry it as `default`, as the plan format reference states it', async () => {
    const byName = new Map(properties(await printedSchema()).map(([path, schema]) => [path, schema]));
    const find = (suffix: string) => [...byName].find(([path]) => path.endsWith(suffix))?.[1]?.default;
    expect(find('/additionalProperties.timeout')).toBe('10m');
    expect(find('/additionalProperties.critical')).toBe(true);
    expect(find('/additionalProperties.skip_if_healthy')).toBe(true);
    expect(find('.interval')).toBe('2s');
    expect(find('.success_threshold')).toBe(1);
    expect(find('/properties/http.method')).toBe('GET');
    expect(find('.approval')).toBe(false);
  });

  it('plans/schema.json, which the example plans reference, is up to date', async () => {
    const committed = JSON.parse(readFileSync(`${ROOT}/plans/schema.json`, 'utf8')) as unknown;
    expect(committed).toEqual(await printedSchema());
  });

  it.each(examplePlans)('%s references the schema for editors and is valid', async (file) => {
    const text = readFileSync(`${ROOT}/${file}`, 'utf8');
    expect(text.split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=(\.\.\/)*(\.\/)?schema\.json$/);
    const result = await runCli(['validate', file], { env: { DB_PASSWORD: 'x' } });
    expect(result.code).toBe(EXIT.ok);
  });
});
