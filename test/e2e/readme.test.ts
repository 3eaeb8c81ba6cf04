import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { CODES } from '../../src/plan/codes.js';
import { planJsonSchema } from '../../src/plan/schema.js';
import { ROOT } from '../helpers/cli.js';

const readme = readFileSync(`${ROOT}/README.md`, 'utf8');

function section(title: string): string {
  const start = readme.indexOf(title);
  expect(start, `README section ${title}`).toBeGreaterThanOrEqual(0);
  const next = readme.indexOf('\n## ', start + title.length);
  return readme.slice(start, next < 0 ? undefined : next);
}

/** Every property name anywhere in a JSON Schema. */
function propertyNames(schema: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) for (const item of schema) propertyNames(item, into);
  else if (schema !== null && typeof schema === 'object') {
    const record = schema as Record<string, unknown>;
    if (record.properties && typeof record.properties === 'object') {
      for (const key of Object.keys(record.properties)) into.add(key);
    }
    for (const value of Object.values(record)) propertyNames(value, into);
  }
  return into;
}

describe('README agrees with the code', () => {
  it('the plan reference names every key of the schema', () => {
    const reference = section('### Reference');
    const missing = [...propertyNames(planJsonSchema())].filter((key) => !reference.includes(`\`${key}\``));
    expect(missing).toEqual([]);
  });

  it('the validation code table lists every code', () => {
    const table = section('### Validation codes');
    expect(CODES.filter((code) => !new RegExp(`^\\| \`${code}\` +\\|`, 'm').test(table))).toEqual([]);
  });

  it('the exit code table lists every exit code', () => {
    const table = section('## Exit codes');
    const codes = Object.values(EXIT).filter((code) => code !== EXIT.sigint && code !== EXIT.sigterm);
    expect(codes.filter((code) => !new RegExp(`^\\| ${code} +\\|`, 'm').test(table))).toEqual([]);
    expect(table).toMatch(/^\| 130 \/ 143 +\|/m);
  });

  it('starts with what the tool is for, then the two commands that work on a fresh machine', () => {
    const demo = readme.indexOf('npm ci && npm run demo');
    const test = readme.indexOf('npm ci && npm test');
    expect(demo).toBeGreaterThan(0);
    expect(test).toBeGreaterThan(demo);
    expect(readme.indexOf('## Usage')).toBeGreaterThan(test);
  });

  it('.ci/run runs exactly the README test command', () => {
    const ci = readFileSync(`${ROOT}/.ci/run`, 'utf8');
    expect(ci).toMatch(/^npm ci && npm test$/m);
  });
});
