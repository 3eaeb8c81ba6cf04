import { readdirSync, readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EXIT } from '../../src/cli/exit-codes.js';
import { ROOT, runCli } from '../helpers/cli.js';

async function printedSchema(): Promise<Record<string, unknown>> {
  const result = await runCli(['schema']);
  expect(result.code).toBe(EXIT.ok);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

const examplePlans = readdirSync(`${ROOT}/plans`, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.yaml'))
  .map((file) => `plans/${file}`);

describe('SPEC 3 restore schema', () => {
  it('prints JSON Schema 2020-12 of the plan format', async () => {
    const schema = await printedSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.required).toEqual(['version', 'name', 'services']);
    expect(schema.additionalProperties).toBe(false);
  });

  it('is the schema the validator uses: example plans pass it, broken ones fail it', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const validate = ajv.compile(await printedSchema());
    expect(examplePlans.length).toBeGreaterThan(0);
    for (const file of examplePlans) {
      const ok = validate(parse(readFileSync(`${ROOT}/${file}`, 'utf8')));
      expect(ok, `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    expect(validate({ version: 1, name: 'x', services: { a: { start: 'x', timeout: 5 } } })).toBe(false);
    expect(validate({ version: 1, name: 'Bad Name', services: { a: {} } })).toBe(false);
    expect(validate({ version: 1, name: 'x', services: { a: { strat: 'x' } } })).toBe(false);
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
