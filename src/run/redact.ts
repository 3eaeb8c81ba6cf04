/** What secret values are replaced with, everywhere (SPEC section 5). */
export const REDACTED = '[REDACTED]';

/**
 * Replaces every secret value in text. Longer secrets go first, so that a secret containing
 * another is hidden whole. Values of one or two characters are not secrets anyone could hide in
 * output without breaking it, and are left alone.
 */
export class Redactor {
  readonly #secrets: string[];

  constructor(values: readonly string[]) {
    this.#secrets = [...new Set(values.filter((v) => v.length >= 3))].sort((a, b) => b.length - a.length);
  }

  get active(): boolean {
    return this.#secrets.length > 0;
  }

  /** The longest secret's length: how much text a stream must hold back across chunk boundaries. */
  get longest(): number {
    return this.#secrets[0]?.length ?? 0;
  }

  text(value: string): string {
    let out = value;
    for (const secret of this.#secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }

  /** A copy of plain data (JSON-like) with every string redacted. */
  deep<T>(value: T): T {
    if (!this.active) return value;
    return this.#walk(value) as T;
  }

  #walk(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((item) => this.#walk(item));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) out[key] = this.#walk(item);
      return out;
    }
    return value;
  }
}

/**
 * Redacts a stream of text chunks whose boundaries may fall inside a secret: it holds back the
 * last (longest secret - 1) characters of each chunk until the next one arrives.
 */
export class StreamRedactor {
  #held = '';

  constructor(
    private readonly redactor: Redactor,
    private readonly out: (text: string) => void,
  ) {}

  push(chunk: string): void {
    if (!this.redactor.active) {
      this.out(chunk);
      return;
    }
    const text = this.#held + chunk;
    const keep = Math.min(text.length, this.redactor.longest - 1);
    // Redact what can be complete; a secret starting in the held-back tail is matched next time.
    let cut = text.length - keep;
    const redacted = this.redactor.text(text);
    if (redacted === text) {
      this.#held = text.slice(cut);
      if (cut > 0) this.out(text.slice(0, cut));
      return;
    }
    // A secret was found: emit all but a tail that cannot start a secret match again.
    const pieces = this.redactor.text(text.slice(0, cut));
    const tail = text.slice(cut);
    // A secret may straddle `cut`: look for one ending in the tail.
    const joined = this.redactor.text(text);
    if (pieces + this.redactor.text(tail) !== joined) {
      cut = text.length;
      this.#held = '';
      this.out(joined);
      return;
    }
    this.#held = tail;
    if (pieces) this.out(pieces);
  }

  end(): void {
    if (this.#held) this.out(this.redactor.text(this.#held));
    this.#held = '';
  }
}
