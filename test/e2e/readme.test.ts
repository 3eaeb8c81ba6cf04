import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { CODES } from '../../src/plan/codes.js';
import { planJsonSchema } from '../../src/plan/schema.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { useTempDir, writeFile } from '../helpers/tmp.js';

const read = (file: string) => readFileSync(`${ROOT}/${file}`, 'utf8');
const readme = read('README.md');
const docs = readdirSync(`${ROOT}/docs`)
  .filter((file) => file.endsWith('.md'))
  .map((file) => `docs/${file}`);

/** A section of a markdown text: from its heading to the next heading of the same or a higher level. */
function section(text: string, heading: string): string {
  const start = text.indexOf(`\n${heading}\n`);
  expect(start, `section ${heading}`).toBeGreaterThanOrEqual(0);
  const level = heading.indexOf(' ');
  const next = new RegExp(`\\n#{1,${level}} `, 'g');
  next.lastIndex = start + heading.length + 1;
  const end = next.exec(text)?.index;
  return text.slice(start, end);
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

function exitCodeTableIsComplete(table: string) {
  const codes = Object.values(EXIT).filter((code) => code !== EXIT.sigint && code !== EXIT.sigterm);
  expect(codes.filter((code) => !new RegExp(`^\\| ${code} +\\|`, 'm').test(table))).toEqual([]);
  expect(table).toMatch(/^\| 130 \/ 143 +\|/m);
}

describe('README: a front page', () => {
  it('is under 12 KB', () => {
    expect(Buffer.byteLength(readme)).toBeLessThan(12 * 1024);
  });

  it('starts with what the tool is for, then the two commands that work on a fresh machine', () => {
    const demo = readme.indexOf('npm ci && npm run demo');
    const test = readme.indexOf('npm ci && npm test');
    expect(demo).toBeGreaterThan(0);
    expect(test).toBeGreaterThan(demo);
    expect(readme.indexOf('## Install')).toBeGreaterThan(test);
    expect(readme.indexOf('## Usage')).toBeGreaterThan(test);
  });

  it('install names the package npm knows and what the host needs', () => {
    const install = section(readme, '## Install');
    const name = (JSON.parse(read('package.json')) as { name: string }).name;
    expect(install).toContain(`npm install -g ${name}`);
    expect(install).toContain('npx');
    expect(install).toMatch(/Node\.js 20/);
    expect(install).toMatch(/OpenSSH/);
  });

  it('the exit code table lists every exit code', () => {
    exitCodeTableIsComplete(section(readme, '## Exit codes'));
  });

  describe('its plan example is a valid plan', () => {
    const tempDir = useTempDir();
    it('validates', async () => {
      const example = /## A plan\n\n```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
      expect(example).toBeDefined();
      const file = writeFile(tempDir(), 'plan.yaml', example!);
      const result = await runCli(['validate', file], { env: { DB_PASSWORD: 'x' } });
      expect(result.code, result.stdout + result.stderr).toBe(EXIT.ok);
    });
  });

  it('.ci/run runs exactly the README test command', () => {
    expect(read('.ci/run')).toMatch(/^npm ci && npm test$/m);
  });
});

describe('docs agree with the code', () => {
  it('the plan reference names every key of the schema', () => {
    const reference = section(read('docs/plan-format.md'), '## Reference');
    const missing = [...propertyNames(planJsonSchema())].filter((key) => !reference.includes(`\`${key}\``));
    expect(missing).toEqual([]);
  });

  it('the validation code table lists every code', () => {
    const table = section(read('docs/plan-format.md'), '## Validation codes');
    expect(CODES.filter((code) => !new RegExp(`^\\| \`${code}\` +\\|`, 'm').test(table))).toEqual([]);
  });

  it('the exit code table in the command reference lists every exit code', () => {
    exitCodeTableIsComplete(section(read('docs/commands.md'), '## Exit codes'));
  });

  it('every RESTORE_* variable in --help is in the environment table', async () => {
    const table = section(read('docs/commands.md'), '## Environment variables');
    const help = await runCli(['apply', '--help']);
    const variables = [...new Set(help.stdout.match(/RESTORE_[A-Z_]+/g))];
    expect(variables.length).toBeGreaterThan(3);
    expect(variables.filter((name) => !table.includes(`\`${name}\``))).toEqual([]);
  });

  it('every relative link in the README and the docs leads to a file of the repository', () => {
    const broken: string[] = [];
    for (const file of ['README.md', ...docs]) {
      for (const [, target] of read(file).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        if (!existsSync(join(ROOT, dirname(file), target!))) broken.push(`${file}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('no reference to a contract file the repository does not hold', () => {
    for (const file of ['README.md', ...docs]) expect(read(file), file).not.toMatch(/SPEC/);
  });
});
