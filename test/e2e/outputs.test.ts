import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { prettyFactory } from 'pino-pretty';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { GENESIS, sealLine } from '../../src/run/state/journal/format.js';
import { formatElapsed } from '../../src/util/duration.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { daemon, tcp, useWorkDirs } from '../helpers/e2e.js';
import { freePorts } from '../helpers/ports.js';
import { parseStrictJson } from '../helpers/strict-json.js';
import { writeFile } from '../helpers/tmp.js';

const workDir = useWorkDirs();
const XSD = join(import.meta.dirname, '..', 'fixtures', 'junit', 'junit.xsd');
const PINO_PRETTY = createRequire(import.meta.url).resolve('pino-pretty/bin.js');

const cli = (dir: string, args: string[]) =>
  runCli([...args, '--state-dir', 'state'], { cwd: dir, timeoutMs: 60_000 });

/**
 * A plan with everything an output has to carry: a daemon, a command printing escape codes and
 * markup, a service failing (until the file `ok` exists) with output, and one it blocks.
 */
async function writePlan(dir: string): Promise<void> {
  const [port] = await freePorts(1);
  const plan = {
    version: 1,
    name: 'outputs',
    services: {
      db: { start: daemon('--listen', port!), health: tcp(port!) },
      job: {
        depends_on: ['db'],
        start: {
          run: "printf '\\033[31mred\\033[0m **bold** [link](http://example.com)\\n'; echo 'to stderr' >&2",
          shell: true,
        },
      },
      flaky: {
        depends_on: ['db'],
        retries: 0,
        start: { run: "printf '\\033[1mtrying\\033[0m <b>x</b> & y\\n'; test -f ok", shell: true },
      },
      after: { depends_on: ['flaky'], start: 'true' },
    },
  };
  writeFile(dir, 'plan.yaml', JSON.stringify(plan, null, 2));
}

function runFiles(dir: string): { log: string; journal: string } {
  const runs = join(dir, 'state', 'outputs', 'runs');
  const id = readdirSync(runs)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .at(-1)!
    .replace(/\.jsonl$/, '');
  return { log: join(runs, `${id}.log`), journal: join(runs, `${id}.jsonl`) };
}

type Line = Record<string, unknown>;
const linesOf = (text: string): string[] => text.split('\n').filter((line) => line !== '');

/** Every line parses with duplicate keys rejected and has pino's level, time and msg. */
function checkPinoLines(text: string, where: string): Line[] {
  return linesOf(text).map((raw) => {
    const line = parseStrictJson(raw) as Line;
    expect(line.level, `${where}: ${raw}`).toSatisfy((level) => level === 30 || level === 40);
    expect(line.time, `${where}: ${raw}`).toSatisfy(
      (time) => typeof time === 'number' && Number.isInteger(time) && time > 1.7e12,
    );
    expect(typeof line.msg, `${where}: ${raw}`).toBe('string');
    expect(line.msg, raw).toBe(line.event === 'service.output' ? line.msg : line.event);
    expect(line).not.toHaveProperty('pid');
    return line;
  });
}

function xmllint(dir: string, xml: string): void {
  const file = writeFile(dir, 'report.xml', xml);
  // Throws with xmllint's complaint when the report does not validate.
  execFileSync('xmllint', ['--noout', '--schema', XSD, file], { stdio: 'pipe' });
}

describe('SPEC 3 Output: the run log and --log-format json', () => {
  it('every line of a failed then resumed apply has level, time and msg, and no key twice; pino-pretty reads them', async () => {
    const dir = workDir();
    await writePlan(dir);
    const first = await cli(dir, ['apply', 'plan.yaml', '--log-format', 'json', '--verbose']);
    expect(first.code, first.stderr).toBe(EXIT.failed);
    writeFileSync(join(dir, 'ok'), '');
    const second = await cli(dir, ['apply', 'plan.yaml', '--resume', '--log-format', 'json', '--verbose']);
    expect(second.code, second.stderr).toBe(EXIT.ok);

    const stdout = [
      ...checkPinoLines(first.stdout, 'first apply'),
      ...checkPinoLines(second.stdout, 'resumed apply'),
    ];
    const { log, journal } = runFiles(dir);
    const logged = checkPinoLines(readFileSync(log, 'utf8'), 'run log');
    for (const lines of [stdout, logged]) {
      const names = lines.map((l) => l.event);
      expect(names).toEqual(
        expect.arrayContaining(['run.started', 'run.resumed', 'service.failed', 'service.output']),
      );
      expect(lines.every((l) => typeof l.run === 'string')).toBe(true);
      expect(lines.find((l) => l.event === 'service.failed')).toMatchObject({ level: 40, service: 'flaky' });
      expect(lines.find((l) => l.event === 'service.output' && l.stream === 'stderr')).toMatchObject({
        msg: 'to stderr',
        service: 'job',
      });
      // The daemon's pid is not taken for the logging process's.
      const healthy = lines.find((l) => l.event === 'service.healthy' && l.service === 'db')!;
      expect(healthy.service_pid).toEqual(expect.any(Number));
    }
    // The log's times are the journal's, to the millisecond.
    const finished = readFileSync(journal, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line)
      .filter((l) => l.event === 'run.finished')
      .map((l) => Date.parse(l.time as string));
    expect(logged.filter((l) => l.event === 'run.finished').map((l) => l.time)).toEqual(finished);
    expect(stdout.filter((l) => l.event === 'run.finished').map((l) => l.time)).toEqual(finished);

    // pino-pretty, unmodified: each line shown with its level and message, and its level filter works.
    const pretty = prettyFactory({ colorize: false });
    for (const raw of linesOf(readFileSync(log, 'utf8'))) {
      const line = JSON.parse(raw) as Line;
      const shown = pretty(raw);
      expect(shown).toContain(line.level === 40 ? 'WARN' : 'INFO');
      // pino-pretty drops the escape character of an output line's color codes; the rest shows.
      expect(shown).toContain((line.msg as string).replaceAll('\u001b', ''));
    }
    const warnings = execFileSync(process.execPath, [PINO_PRETTY, '--colorize', 'false', '-L', 'warn'], {
      input: readFileSync(log),
      encoding: 'utf8',
    });
    expect(warnings).toContain('WARN');
    expect(warnings).toContain('service.failed');
    expect(warnings).not.toContain('INFO');

    // After the resume too, the durations are the same everywhere.
    const finishedOut = stdout.filter((l) => l.event === 'run.finished').at(-1) as unknown as Durations;
    const status = JSON.parse(
      (await cli(dir, ['status', 'plan.yaml', '--format', 'json'])).stdout,
    ) as Durations;
    const report = JSON.parse(
      (await cli(dir, ['report', 'plan.yaml', '--format', 'json'])).stdout,
    ) as Durations;
    expect(status.duration_ms).toBe(finishedOut.duration_ms);
    expect(report.duration_ms).toBe(finishedOut.duration_ms);
    for (const name of ['db', 'job', 'flaky', 'after']) {
      expect(status.services[name]!.duration_ms, name).toBe(finishedOut.services[name]!.duration_ms);
      expect(report.services[name]!.duration_ms, name).toBe(finishedOut.services[name]!.duration_ms);
    }
  }, 90_000);
});

describe('SPEC 3 Output: the run log is not lost', () => {
  it('when its stdout is closed mid-run (| head -1), the run log still holds every step the journal does', async () => {
    const dir = workDir();
    writeFile(
      dir,
      'plan.yaml',
      JSON.stringify({
        version: 1,
        name: 'outputs',
        services: { a: { start: 'true' }, b: { depends_on: ['a'], start: 'sleep 0.5' } },
      }),
    );
    const { child, done } = spawnCli(['apply', 'plan.yaml', '--state-dir', 'state', '--log-format', 'json'], {
      cwd: dir,
    });
    // A reader that goes away after the first line, as `| head -1` does.
    child.stdout!.once('data', () => child.stdout!.destroy());
    await done;
    const { log, journal } = runFiles(dir);
    const steps = linesOf(readFileSync(journal, 'utf8')).length;
    expect(steps).toBeGreaterThan(0);
    expect(linesOf(readFileSync(log, 'utf8'))).toHaveLength(steps);
  }, 60_000);
});

interface Durations {
  duration_ms: number;
  services: Record<string, { duration_ms: number }>;
}

describe('SPEC 5 journals written before the pid was named service_pid', () => {
  it('status, report and --resume read them', async () => {
    const dir = workDir();
    await writePlan(dir);
    expect((await cli(dir, ['apply', 'plan.yaml'])).code).toBe(EXIT.failed);
    // Rewrite the journal as an older restore wrote it: `pid`, and probes without their duration.
    const { journal } = runFiles(dir);
    let previous = GENESIS;
    const old = linesOf(readFileSync(journal, 'utf8')).map((raw) => {
      const { hash: _hash, ...line } = JSON.parse(raw) as Line;
      if ('service_pid' in line) {
        line.pid = line.service_pid;
        delete line.service_pid;
      }
      const record = line.record as Line | undefined;
      if (record && 'service_pid' in record) {
        record.pid = record.service_pid;
        delete record.service_pid;
      }
      if (line.event === 'service.probe') delete line.duration_ms;
      const sealed = sealLine(previous, line as Parameters<typeof sealLine>[1]);
      previous = sealed.hash;
      return sealed.text;
    });
    expect(old.join('')).toContain('"pid":');
    expect(old.join('')).not.toContain('service_pid');
    writeFileSync(journal, old.join(''));

    const status = await cli(dir, ['status', 'plan.yaml', '--format', 'json']);
    expect(status.code, status.stderr).toBe(EXIT.ok);
    expect(JSON.parse(status.stdout)).toMatchObject({
      state: 'failed',
      services: { db: { result: 'healthy' } },
    });
    const junit = await cli(dir, ['report', 'plan.yaml', '--format', 'junit']);
    expect(junit.code, junit.stderr).toBe(EXIT.ok);
    xmllint(dir, junit.stdout);
    writeFileSync(join(dir, 'ok'), '');
    const resumed = await cli(dir, ['apply', 'plan.yaml', '--resume']);
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    const after = JSON.parse((await cli(dir, ['status', 'plan.yaml', '--format', 'json'])).stdout);
    expect(after).toMatchObject({ state: 'succeeded', services: { flaky: { result: 'healthy' } } });
  }, 90_000);
});

describe('SPEC 3 Output: one truth for times', () => {
  it("every output shows each service's duration and the run's as the summary does", async () => {
    const dir = workDir();
    await writePlan(dir);
    const applied = await cli(dir, ['apply', 'plan.yaml']);
    expect(applied.code, applied.stderr).toBe(EXIT.failed);
    const summary = new Map<string, string>();
    const table = applied.stdout.slice(applied.stdout.lastIndexOf('SERVICE'));
    for (const row of table.split('\n').slice(1)) {
      const cells = row.trim().split(/\s+/);
      if (cells.length >= 5 && ['db', 'job', 'flaky', 'after'].includes(cells[0]!))
        summary.set(cells[0]!, cells.at(-1)!);
    }
    const total = /total restoration time (\S+)/.exec(applied.stdout)![1];
    expect([...summary.keys()].sort()).toEqual(['after', 'db', 'flaky', 'job']);

    const { log, journal } = runFiles(dir);
    const finishedIn = (text: string) =>
      linesOf(text)
        .map((l) => JSON.parse(l) as Line)
        .find((l) => l.event === 'run.finished') as {
        duration_ms: number;
        services: Record<string, { duration_ms: number }>;
      };
    const status = JSON.parse((await cli(dir, ['status', 'plan.yaml', '--format', 'json'])).stdout) as {
      duration_ms: number;
      services: Record<string, { duration_ms: number }>;
    };
    const report = JSON.parse((await cli(dir, ['report', 'plan.yaml', '--format', 'json'])).stdout) as {
      duration_ms: number;
      services: Record<string, { duration_ms: number }>;
    };
    const junit = (await cli(dir, ['report', 'plan.yaml', '--format', 'junit'])).stdout;
    const markdown = (await cli(dir, ['report', 'plan.yaml', '--format', 'markdown'])).stdout;
    const journalLines = linesOf(readFileSync(journal, 'utf8')).map((l) => JSON.parse(l) as Line);

    const outputs = {
      'run.finished in the journal': finishedIn(readFileSync(journal, 'utf8')),
      'run.finished in the run log': finishedIn(readFileSync(log, 'utf8')),
      'status --format json': status,
      'report --format json': report,
    };
    for (const [name, shown] of summary) {
      const ms = outputs['status --format json'].services[name]!.duration_ms;
      expect(formatElapsed(ms), `summary of ${name}`).toBe(shown);
      for (const [where, output] of Object.entries(outputs))
        expect(output.services[name]!.duration_ms, `${where}: ${name}`).toBe(ms);
      const ended = journalLines.find(
        (l) => l.service === name && (l.event === 'service.healthy' || l.event === 'service.failed'),
      );
      if (ended) expect(ended.duration_ms, `journal ${ended.event} of ${name}`).toBe(ms);
      expect(junit).toContain(`name="${name}" time="${(ms / 1000).toFixed(3)}"`);
      expect(markdown).toMatch(new RegExp(`\\| \`${name}\` \\|[^\\n]*\\| ${formatElapsed(ms)} \\|`));
    }
    const runMs = status.duration_ms;
    expect(formatElapsed(runMs)).toBe(total);
    for (const [where, output] of Object.entries(outputs)) expect(output.duration_ms, where).toBe(runMs);
    expect(junit).toContain(`<testsuite name="outputs" id="`);
    expect(junit).toMatch(new RegExp(`skipped="\\d+" time="${(runMs / 1000).toFixed(3)}"`));
    expect(markdown).toContain(`- **Duration:** ${formatElapsed(runMs)}`);
  }, 90_000);
});

describe('SPEC 3 Output: reports', () => {
  it('the JUnit report validates against the JUnit schema Jenkins xUnit reads: a failure carries its last output, escaped; blocked is skipped', async () => {
    const dir = workDir();
    await writePlan(dir);
    expect((await cli(dir, ['apply', 'plan.yaml'])).code).toBe(EXIT.failed);
    const junit = (await cli(dir, ['report', 'plan.yaml', '--format', 'junit'])).stdout;
    xmllint(dir, junit);
    expect(junit).toMatch(/<testsuite [^>]*errors="0"/);
    expect(junit).not.toMatch(/<testsuites [^>]*skipped=/);
    const failure = /<failure [^>]*>([^<]*)<\/failure>/.exec(junit)![1]!;
    expect(failure).toContain('trying &lt;b&gt;x&lt;/b&gt; &amp; y');
    for (const code of ['\u001b', '[1m', '[0m']) expect(failure).not.toContain(code);
    expect(junit).toMatch(/name="after"[^>]*>\s*<skipped message="blocked: blocked by flaky"\/>/);
    expect(junit.match(/<failure /g)).toHaveLength(1);
  }, 90_000);

  it('the markdown report shows output as text, a millisecond axis for a short run, and blocked services on the timeline', async () => {
    const dir = workDir();
    await writePlan(dir);
    expect((await cli(dir, ['apply', 'plan.yaml'])).code).toBe(EXIT.failed);
    const markdown = (await cli(dir, ['report', 'plan.yaml', '--format', 'markdown'])).stdout;
    for (const code of ['\u001b', '[1m', '[0m', '[31m']) expect(markdown).not.toContain(code);
    // The failed service's last output, in a code block: shown, not rendered.
    expect(markdown).toMatch(/### `flaky`\n\n```text\ntrying <b>x<\/b> & y\n```/);
    expect(markdown).toContain('axisFormat %H:%M:%S.%L');
    expect(markdown).toContain('dateFormat YYYY-MM-DD HH:mm:ss.SSS');
    expect(markdown).toMatch(
      / {4}after blocked \(blocked by flaky\) :milestone, crit, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}/,
    );
    expect(markdown).toMatch(/- \*\*Started:\*\* \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC/);
    // Every bar's clock reading is within the run, in UTC like the text.
    const started = /- \*\*Started:\*\* (\S+ \S+) UTC/.exec(markdown)![1]!;
    const bars = [...markdown.matchAll(/ :[a-z, ]*(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}), /g)].map(
      (m) => m[1]!,
    );
    expect(bars.length).toBeGreaterThanOrEqual(4);
    for (const bar of bars) expect(Date.parse(`${bar}Z`)).toBeGreaterThanOrEqual(Date.parse(`${started}Z`));
  }, 90_000);
});
