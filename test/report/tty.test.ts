import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createTtyRenderer } from '../../src/report/run/tty.js';
import { colorsFor } from '../../src/report/style.js';
import type { RunEvent, Timed } from '../../src/run/events.js';

/** A terminal of the given size that keeps what is written to it. */
function fakeTerminal(
  columns: number,
  rows: number,
): Writable & { columns: number; rows: number; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return Object.assign(stream, { columns, rows, isTTY: true, text: () => chunks.join('') });
}

describe('SPEC 3 Output: the live view', () => {
  it('keeps its columns aligned when some cells are colored', () => {
    const terminal = fakeTerminal(100, 30);
    const view = createTtyRenderer(terminal, colorsFor({ isTTY: true }, { FORCE_COLOR: '1' }), false);
    const t0 = Date.now();
    const emit = (event: RunEvent, ms: number) => view.listener({ ...event, time: t0 + ms } as Timed);
    const stage = 'core';
    emit(
      {
        type: 'run.started',
        run: 'r1',
        plan: 'p',
        file: 'p.yaml',
        digest: 'sha256:0',
        argv: [],
        concurrency: 4,
        stages: [{ name: stage, approval: false, services: ['db', 'cache', 'api'] }],
        not_selected: [],
      },
      0,
    );
    emit({ type: 'stage.started', stage, index: 1, count: 1, services: ['db', 'cache', 'api'] }, 1);
    for (const service of ['db', 'cache', 'api'])
      emit(
        {
          type: 'service.starting',
          service,
          stage,
          attempt: 1,
          max_attempts: 1,
          command: 'x',
          daemon: false,
        },
        2,
      );
    emit(
      {
        type: 'service.healthy',
        service: 'db',
        stage,
        attempts: 1,
        rounds: 1,
        duration_ms: 42,
        service_pid: null,
      },
      7,
    );
    emit(
      {
        type: 'service.failed',
        service: 'cache',
        stage,
        reason: 'start-failed',
        message: 'exited with code 1',
        attempts: 1,
        duration_ms: 77,
      },
      11,
    );
    view.stop();
    const frame = stripVTControlCharacters(terminal.text());
    const from = frame.lastIndexOf('restore apply p');
    const last = frame.slice(from, frame.indexOf('elapsed', from));
    const rows = last.split('\n').filter((line) => /^ {2}\S (db|cache|api) /.test(line));
    expect(rows, last).toHaveLength(3);
    // The elapsed column starts at the same place on every row.
    const starts = rows.map((row) => /\S+\s+\S+(?: \(.*?\))?\s+\S+\s+(?=\d)/.exec(row)![0].length);
    expect(new Set(starts).size, rows.join('\n')).toBe(1);
    // A finished service shows the duration its event reported, the one the summary shows.
    expect(rows.find((row) => row.includes(' db '))).toMatch(/ 42ms$/);
    expect(rows.find((row) => row.includes(' cache '))).toMatch(/ 77ms$/);
  });
});

describe('SPEC 11 the live view says what the run went on despite', () => {
  it('a service.warning is a line above the table', () => {
    const terminal = fakeTerminal(100, 30);
    const view = createTtyRenderer(terminal, colorsFor({ isTTY: true }, { NO_COLOR: '1' }), false);
    const t0 = Date.now();
    const emit = (event: RunEvent, ms: number) => view.listener({ ...event, time: t0 + ms } as Timed);
    emit(
      {
        type: 'run.started',
        run: 'r1',
        plan: 'p',
        file: 'p.yaml',
        digest: 'sha256:0',
        argv: [],
        concurrency: 4,
        stages: [{ name: 'core', approval: false, services: ['cache', 'api'] }],
        not_selected: [],
      },
      0,
    );
    emit(
      {
        type: 'service.warning',
        service: 'api',
        stage: 'core',
        cause: 'optional-dependency-failed',
        dependency: 'cache',
        message: 'starts although its optional dependency cache failed (required: false)',
      },
      5,
    );
    view.stop();
    expect(stripVTControlCharacters(terminal.text())).toContain(
      '! api: starts although its optional dependency cache failed (required: false)',
    );
  });
});
