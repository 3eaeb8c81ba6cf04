import { WriteStream } from 'node:tty';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { alignColumns, colorsEnabled, colorsFor, liveViewFits, padVisible } from '../../src/report/style.js';

/** Node's own answer for a capable terminal (xterm-256color): more than 2 colors means color. */
const nodeColors = (env: Record<string, string>) =>
  WriteStream.prototype.getColorDepth.call({}, { TERM: 'xterm-256color', ...env }) > 1;

describe('SPEC 3 Output: color', () => {
  const cases: Record<string, string>[] = [
    {},
    { FORCE_COLOR: '0' },
    { FORCE_COLOR: 'false' },
    { FORCE_COLOR: '1' },
    { FORCE_COLOR: '' },
    { FORCE_COLOR: '2' },
    { FORCE_COLOR: '3' },
    { FORCE_COLOR: 'true' },
    { FORCE_COLOR: 'yes' },
    { NO_COLOR: '1' },
    { NO_COLOR: '' },
    { NODE_DISABLE_COLORS: '1' },
    { FORCE_COLOR: '1', NO_COLOR: '1' },
    { FORCE_COLOR: '0', NO_COLOR: '1' },
    { FORCE_COLOR: '1', TERM: 'dumb' },
    { TERM: 'dumb' },
  ];

  it.each(cases)('on a terminal, %o decides as Node and chalk do', (env) => {
    const original = process.emitWarning;
    // Node warns when FORCE_COLOR overrides NO_COLOR; that is not this test's business.
    process.emitWarning = () => {};
    try {
      expect(colorsEnabled({ isTTY: true }, { TERM: 'xterm-256color', ...env })).toBe(nodeColors(env));
    } finally {
      process.emitWarning = original;
    }
  });

  it('off a terminal only FORCE_COLOR turns color on, and FORCE_COLOR=0 keeps it off', () => {
    expect(colorsEnabled({ isTTY: false }, {})).toBe(false);
    expect(colorsEnabled({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorsEnabled({ isTTY: true }, { FORCE_COLOR: '0' })).toBe(false);
    expect(colorsFor({ isTTY: true }, { FORCE_COLOR: '0' }).red('x')).toBe('x');
  });
});

describe('SPEC 3 Output: terminal views', () => {
  it('columns are measured by the width shown, not by escape codes', () => {
    const c = colorsFor({ isTTY: true }, { FORCE_COLOR: '1' });
    expect(padVisible(c.red('failed'), 10)).toBe(`${c.red('failed')}    `);
    const rows = alignColumns([
      [c.bold('NAME'), 'X'],
      [c.red('a'), 'Y'],
    ]);
    expect(rows.map((row) => stripVTControlCharacters(row))).toEqual(['NAME  X', 'a     Y']);
  });

  it('a terminal of size 0, TERM=dumb or a pipe gets the plain view; a sized terminal the live one', () => {
    expect(liveViewFits({ isTTY: true, columns: 80, rows: 24 }, {})).toBe(true);
    expect(liveViewFits({ isTTY: true, columns: 0, rows: 0 }, {})).toBe(false);
    expect(liveViewFits({ isTTY: true, columns: 80, rows: 0 }, {})).toBe(false);
    expect(liveViewFits({ isTTY: true }, {})).toBe(false);
    expect(liveViewFits({ isTTY: true, columns: 80, rows: 24 }, { TERM: 'dumb' })).toBe(false);
    expect(liveViewFits({ isTTY: false, columns: 80, rows: 24 }, {})).toBe(false);
  });
});
