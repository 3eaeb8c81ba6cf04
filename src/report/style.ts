import { stripVTControlCharacters } from 'node:util';
import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Whether to color, by Node's own rules (tty.WriteStream#getColorDepth), which chalk shares:
 * FORCE_COLOR, when set, decides alone: "", "1", "2", "3" and "true" turn colors on, anything
 * else ("0", "false") off, even on a terminal and even with NO_COLOR. Otherwise NO_COLOR
 * (https://no-color.org), NODE_DISABLE_COLORS or TERM=dumb turn them off, and a terminal has them.
 */
export function colorsEnabled(stream: { isTTY?: boolean }, env: Env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return ['', '1', '2', '3', 'true'].includes(force);
  if (env.NO_COLOR !== undefined || env.NODE_DISABLE_COLORS !== undefined || env.TERM === 'dumb')
    return false;
  return stream.isTTY === true;
}

export function colorsFor(stream: { isTTY?: boolean }, env: Env): Colors {
  return pc.createColors(colorsEnabled(stream, env));
}

/**
 * Whether a stream can hold the live view: a terminal (not TERM=dumb) with a size. A terminal of
 * size 0 (a pseudo-terminal nobody sized, `stty size` "0 0") would swallow the redrawn lines, so it
 * gets the plain line-per-step view instead (SPEC 4.10: output there must not be lost).
 */
export function liveViewFits(
  stream: { isTTY?: boolean; columns?: number; rows?: number },
  env: Env,
): boolean {
  if (stream.isTTY !== true || env.TERM === 'dumb') return false;
  return (stream.columns ?? 0) > 0 && (stream.rows === undefined || stream.rows > 0);
}

/** Pads each column of rows to the widest cell, separated by two spaces; the last column is not padded. */
export function alignColumns(
  rows: readonly (readonly string[])[],
  widthOf: (text: string) => number = visibleWidth,
): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, index) => {
      if (index < row.length - 1) widths[index] = Math.max(widths[index] ?? 0, widthOf(cell));
    });
  }
  return rows.map((row) =>
    row
      .map((cell, index) =>
        index < row.length - 1 ? cell + ' '.repeat((widths[index] ?? 0) - widthOf(cell)) : cell,
      )
      .join('  ')
      .trimEnd(),
  );
}

/** Width of text as shown, ignoring color and other terminal codes. */
export function visibleWidth(text: string): number {
  return stripVTControlCharacters(text).length;
}

/** padEnd by the width shown: escape codes take no room on screen. */
export function padVisible(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - visibleWidth(text)));
}
