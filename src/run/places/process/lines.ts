import { StringDecoder } from 'node:string_decoder';

/** A line longer than this is passed on in pieces of this size, so one line cannot exhaust memory. */
export const MAX_LINE_CHARS = 1024 * 1024;

/**
 * Splits a byte stream into lines as it arrives (UTF-8 safe across chunk boundaries, `\n` or
 * `\r\n`). Holds at most one unfinished line; `end()` passes on the last line if it has no newline.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    let text = this.#pending + this.#decoder.write(chunk);
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      const line = text.slice(start, end);
      this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
      start = end + 1;
    }
    text = text.slice(start);
    while (text.length > MAX_LINE_CHARS) {
      this.onLine(text.slice(0, MAX_LINE_CHARS));
      text = text.slice(MAX_LINE_CHARS);
    }
    this.#pending = text;
  }

  end(): void {
    const rest = this.#pending + this.#decoder.end();
    this.#pending = '';
    if (rest !== '') this.onLine(rest.endsWith('\r') ? rest.slice(0, -1) : rest);
  }
}
