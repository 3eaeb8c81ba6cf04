import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

/**
 * Colors only for a terminal, and never when NO_COLOR is set (https://no-color.org) or TERM is
 * "dumb"; FORCE_COLOR turns them on anyway.
 */
export function colorsFor(
  stream: { isTTY?: boolean },
  env: Readonly<Record<string, string | undefined>>,
): Colors {
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  const enabled = forced || (stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb');
  return pc.createColors(enabled);
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

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences start with ESC
const ANSI = /\u001b\[[0-9;]*m/g;

/** Width of text as shown, ignoring color codes. */
export function visibleWidth(text: string): number {
  return text.replace(ANSI, '').length;
}
