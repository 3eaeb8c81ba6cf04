import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { LOG_FORMAT_NAMES, REPORT_FORMAT_NAMES, STATUS_FORMAT_NAMES } from '../../src/cli/format-names.js';
import { main } from '../../src/cli/main.js';
import { REPORT_FORMATS, STATUS_FORMATS } from '../../src/report/report/formats.js';
import { statusJson } from '../../src/report/report/status.js';
import { renderSummary, summaryListener } from '../../src/report/run/summary.js';
import { chooseRunView, createRunView, RUN_VIEWS, type ViewOutput } from '../../src/report/run/views.js';
import { colorsFor } from '../../src/report/style.js';
import type { RunEvent, ServiceSummary, Timed } from '../../src/run/events.js';
import type { RunSnapshot } from '../../src/run/state/journal/state.js';

const PIPE: ViewOutput = { write: () => {} };
const TERMINAL: ViewOutput = { write: () => {}, isTTY: true, columns: 100, rows: 30 };
const ENV = { TERM: 'xterm' };
const plainColors = colorsFor({}, {});

/** Something a view writes to that keeps the text; a terminal of 100x30 when `terminal`. */
function output(terminal: boolean): Writable & ViewOutput & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const sized = terminal ? { isTTY: true, columns: 100, rows: 30 } : {};
  return Object.assign(stream, sized, { text: () => chunks.join('') });
}

const SERVICES: Record<string, ServiceSummary> = {
  db: { stage: 'core', result: 'healthy', attempts: 1, duration_ms: 42 },
  api: { stage: 'core', result: 'failed', attempts: 2, duration_ms: 77, reason: 'exited with code 1' },
  web: { stage: 'edge', result: 'skipped', attempts: 0, duration_ms: 0 },
};
/** The plan's order: `web` is in a stage the selection (`--only db,api`) left out. */
const ORDER = ['db', 'api', 'web'];

/** A short run of `--only db,api`: db healthy, api failed; ends with run.finished. */
function run(): Timed[] {
  const t0 = Date.now();
  const events: RunEvent[] = [
    {
      type: 'run.started',
      run: 'r1',
      plan: 'p',
      file: 'p.yaml',
      digest: 'sha256:0',
      argv: [],
      concurrency: 4,
      stages: [{ name: 'core', approval: false, services: ['db', 'api'] }],
      not_selected: ['web'],
    },
    { type: 'stage.started', stage: 'core', index: 1, count: 1, services: ['db', 'api'] },
    {
      type: 'service.starting',
      service: 'db',
      stage: 'core',
      attempt: 1,
      max_attempts: 1,
      command: 'x',
      daemon: false,
    },
    {
      type: 'service.healthy',
      service: 'db',
      stage: 'core',
      attempts: 1,
      rounds: 1,
      duration_ms: 42,
      service_pid: null,
    },
    {
      type: 'service.failed',
      service: 'api',
      stage: 'core',
      reason: 'start-failed',
      message: 'exited with code 1',
      attempts: 2,
      duration_ms: 77,
    },
    { type: 'stage.finished', stage: 'core', result: 'failed' },
    { type: 'run.finished', result: 'failed', duration_ms: 1234, services: structuredClone(SERVICES) },
  ];
  return events.map((event, index) => ({ ...event, time: t0 + index }) as Timed);
}

describe('SPEC 3 Output: the view of a run is chosen from a registry', () => {
  it('each view has its own name', () => {
    const names = RUN_VIEWS.map((view) => view.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('every --log-format has a view, on a terminal and off one', () => {
    for (const format of LOG_FORMAT_NAMES) {
      expect(() => chooseRunView(format, PIPE, ENV)).not.toThrow();
      expect(() => chooseRunView(format, TERMINAL, ENV)).not.toThrow();
    }
  });

  it('JSON lines for json wherever stdout goes; the live view on a terminal that fits it, lines elsewhere', () => {
    expect(chooseRunView('json', TERMINAL, ENV).name).toBe('json-lines');
    expect(chooseRunView('json', PIPE, ENV).name).toBe('json-lines');
    expect(chooseRunView('pretty', TERMINAL, ENV).name).toBe('tty');
    expect(chooseRunView('pretty', PIPE, ENV).name).toBe('plain');
    expect(chooseRunView('pretty', TERMINAL, { TERM: 'dumb' }).name).toBe('plain');
    // A pseudo-terminal nobody sized would swallow the redrawn lines (SPEC 4.10).
    expect(chooseRunView('pretty', { ...TERMINAL, columns: 0, rows: 0 }, ENV).name).toBe('plain');
  });

  it('each view, once created, shows a run on its output', async () => {
    for (const entry of RUN_VIEWS) {
      const stdout = output(entry.name === 'tty');
      const view = await entry.create({ stdout, colors: plainColors, verbose: false });
      for (const event of run()) view.listener(event);
      view.stop?.();
      const text = stripVTControlCharacters(stdout.text());
      expect(text, entry.name).toContain('db');
      expect(text, entry.name).toContain('exited with code 1');
    }
  });

  it('the human views are followed by the summary the moment the run finishes, JSON lines by nothing else', async () => {
    for (const terminal of [false, true]) {
      const stdout = output(terminal);
      const view = await createRunView('pretty', { stdout, env: ENV, verbose: false, order: ORDER });
      for (const event of run()) for (const listener of view.listeners) listener(event);
      // Colored on the terminal, as the view is.
      const summary = renderSummary(SERVICES, ORDER, 1234, colorsFor(stdout, ENV));
      expect(stdout.text().endsWith(`\n${summary}`)).toBe(true);
    }
    const stdout = output(false);
    const view = await createRunView('json', { stdout, env: ENV, verbose: false, order: ORDER });
    for (const event of run()) for (const listener of view.listeners) listener(event);
    const lines = stdout.text().trimEnd().split('\n');
    expect(lines).toHaveLength(run().length);
    expect(lines.map((line) => JSON.parse(line).event)).toEqual(run().map((event) => event.type));
  });

  it('the live view stops at run.finished: nothing is redrawn over the summary under it', async () => {
    const stdout = output(true);
    const view = await createRunView('pretty', { stdout, env: ENV, verbose: false, order: ORDER });
    for (const event of run()) for (const listener of view.listeners) listener(event);
    const written = stdout.text();
    // The view's timer redraws every 100 ms while it runs.
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(stdout.text()).toBe(written);
    expect(written.endsWith(renderSummary(SERVICES, ORDER, 1234, colorsFor(stdout, ENV)))).toBe(true);
  });
});

describe('SPEC 3 Output: the summary subscribes to the run', () => {
  it('writes nothing until run.finished, then its table of every service of the plan, in plan order', () => {
    const written: string[] = [];
    const listener = summaryListener((text) => written.push(text), ORDER, plainColors);
    const events = run();
    for (const event of events.slice(0, -1)) listener(event);
    expect(written).toEqual([]);
    listener(events.at(-1)!);
    expect(written).toHaveLength(1);
    const rows = written[0]!.split('\n').filter((line) => /^(db|api|web) /.test(line));
    expect(rows.map((row) => row.split(/\s+/)[0])).toEqual(ORDER);
    expect(written[0]).toContain('api: exited with code 1');
    expect(written[0]).toContain('1 of 3 services healthy; total restoration time 1.2s');
  });
});

const SNAPSHOT: RunSnapshot = {
  run: 'r1',
  plan: 'p',
  file: 'p.yaml',
  digest: 'sha256:0',
  state: 'failed',
  started_at: '2026-01-01T00:00:00.000Z',
  finished_at: '2026-01-01T00:00:01.234Z',
  awaiting: null,
  approvals: [],
  services: {
    db: {
      stage: 'core',
      result: 'healthy',
      attempts: 1,
      duration_ms: 42,
      started_at: '2026-01-01T00:00:00.100Z',
      finished_at: '2026-01-01T00:00:00.142Z',
      reason: null,
      first_attempt_at: null,
      mark: null,
      attempt_at: null,
    },
    api: {
      stage: 'core',
      result: 'failed',
      attempts: 2,
      duration_ms: 77,
      started_at: '2026-01-01T00:00:00.100Z',
      finished_at: '2026-01-01T00:00:00.177Z',
      reason: 'exited with code 1',
      first_attempt_at: null,
      mark: null,
      attempt_at: null,
    },
  },
  healthy_order: ['db'],
  lines: 7,
  duration_ms: 1234,
  updated_at: '2026-01-01T00:00:01.234Z',
  not_selected: [],
  stages: {
    core: {
      result: 'failed',
      started_at: '2026-01-01T00:00:00.050Z',
      finished_at: '2026-01-01T00:00:00.200Z',
      approval_wait_ms: 0,
      gate_at: null,
    },
  },
  approval_wait_ms: 0,
};

describe('restore report and restore status: formats are chosen from a registry', () => {
  it('has a renderer for each --format the CLI offers, and no other', () => {
    expect(Object.keys(REPORT_FORMATS).sort()).toEqual([...REPORT_FORMAT_NAMES].sort());
    expect(Object.keys(STATUS_FORMATS).sort()).toEqual([...STATUS_FORMAT_NAMES].sort());
  });

  it('each report format renders a run; the run log is read for exactly the formats that show output', () => {
    const tails = new Map([['api', ['boom: the last line api printed']]]);
    for (const [name, format] of Object.entries(REPORT_FORMATS)) {
      const text = format.render(SNAPSHOT, tails);
      expect(text, name).toContain('api');
      expect(text.includes('boom: the last line api printed'), name).toBe(format.tails);
    }
    expect(JSON.parse(REPORT_FORMATS.json.render(SNAPSHOT, new Map()))).toEqual(SNAPSHOT);
    expect(REPORT_FORMATS.junit.render(SNAPSHOT, tails)).toMatch(/^<\?xml /);
    expect(REPORT_FORMATS.markdown.render(SNAPSHOT, tails)).toMatch(/^# Restoration report: `p`/);
  });

  it('each status format renders a run, and the absence of one', () => {
    expect(JSON.parse(STATUS_FORMATS.json('p', SNAPSHOT, plainColors))).toEqual(statusJson('p', SNAPSHOT));
    expect(JSON.parse(STATUS_FORMATS.json('p', undefined, plainColors))).toEqual(statusJson('p', undefined));
    expect(STATUS_FORMATS.text('p', SNAPSHOT, plainColors)).toContain('api: exited with code 1');
    expect(STATUS_FORMATS.text('p', undefined, plainColors)).toBe('plan p: no run yet\n');
  });
});

/** `restore <args>` in this process; what it wrote to stdout. */
async function helpOf(...args: string[]): Promise<string> {
  const stdout: string[] = [];
  const code = await main([...args, '--help'], {
    stdout: { write: (text) => stdout.push(text) },
    stderr: { write: () => {} },
    env: {},
    cwd: process.cwd(),
    stdin: process.stdin,
  });
  expect(code).toBe(0);
  return stdout.join('').replace(/\s+/g, ' ');
}

describe('the CLI offers the registries names as choices', () => {
  it('apply --log-format, report --format and status --format list the registry names', async () => {
    expect(await helpOf('apply')).toContain(
      `--log-format <format> output format (choices: ${LOG_FORMAT_NAMES.join(', ')},`,
    );
    expect(await helpOf('report')).toContain(`(choices: ${Object.keys(REPORT_FORMATS).join(', ')},`);
    expect(await helpOf('status')).toContain(`(choices: ${Object.keys(STATUS_FORMATS).join(', ')},`);
  });
});
