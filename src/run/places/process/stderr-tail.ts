import type { Redactor } from '../../redact.js';

/** At most this many of a command's last stderr lines say why it failed (SPEC section 4, step 11). */
export const TAIL_LINES = 5;
/** ... and at most this many bytes of them, after redaction. */
export const TAIL_BYTES = 1024;

/**
 * The last non-empty lines a command wrote to stderr, held as they come (a few KiB at most,
 * however much it writes), given back redacted and cut to TAIL_LINES lines and TAIL_BYTES bytes.
 * Redaction comes before the cut, and a line cut on the way in loses as many characters as the
 * longest secret at its cut: no part of a secret can survive at the edge of a cut.
 */
export class StderrTail {
  readonly #lines: { text: string; cut: boolean }[] = [];
  readonly #keep: number;

  constructor(private readonly redactor?: Redactor) {
    this.#keep = 2 * TAIL_BYTES + (redactor?.longest ?? 0);
  }

  push(line: string): void {
    const trimmed = line.trimEnd();
    if (trimmed.trim() === '') return;
    const cut = trimmed.length > this.#keep;
    // A copy, so that a huge line is not kept alive by a slice of it.
    const text = cut ? Buffer.from(trimmed.slice(-this.#keep)).toString() : trimmed;
    this.#lines.push({ text, cut });
    if (this.#lines.length > TAIL_LINES) this.#lines.shift();
  }

  /** The lines, redacted, the oldest first, within TAIL_BYTES altogether. */
  lines(): string[] {
    const longest = this.redactor?.longest ?? 0;
    const redacted = this.#lines.map(({ text, cut }) => {
      const clean = this.redactor ? this.redactor.text(text) : text;
      return cut ? `…${clean.slice(longest)}` : clean;
    });
    return fitBytes(redacted, TAIL_BYTES);
  }
}

/** The last of `lines` that fit in `budget` bytes (joined by ' | '); the first kept may be cut at its start. */
export function fitBytes(lines: readonly string[], budget: number): string[] {
  const kept: string[] = [];
  let used = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    const size = Buffer.byteLength(line) + (kept.length > 0 ? 3 : 0);
    if (used + size <= budget) {
      kept.unshift(line);
      used += size;
      continue;
    }
    const room = budget - used - (kept.length > 0 ? 3 : 0) - Buffer.byteLength('…');
    if (room > 0) {
      let end = line;
      while (Buffer.byteLength(end) > room) end = end.slice(Math.max(1, Math.ceil((end.length - room) / 2)));
      kept.unshift(`…${end}`);
    }
    break;
  }
  return kept;
}

/** A failure message with the command's last stderr lines: `exited with code 7: boom`. */
export function withStderr(message: string, lines: readonly string[] | undefined): string {
  return lines && lines.length > 0 ? `${message}: ${lines.join(' | ')}` : message;
}
