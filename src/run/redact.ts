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

  /** The secret values, longest first. */
  get values(): readonly string[] {
    return this.#secrets;
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
 * Redacts a stream of text chunks whose boundaries may fall inside a secret: text that could be
 * the beginning of a secret is held back until the next chunk tells.
 */
export class StreamRedactor {
  #held = '';

  constructor(
    private readonly redactor: Redactor,
    private readonly out: (text: string) => void,
    private readonly secrets: readonly string[] = redactor.values,
  ) {}

  push(chunk: string): void {
    const text = this.#held + chunk;
    this.#held = '';
    let emitted = '';
    let from = 0;
    for (;;) {
      const match = this.#nextMatch(text, from);
      const partial = this.#partialTail(text, from);
      if (match && match.index < partial) {
        emitted += `${text.slice(from, match.index)}${REDACTED}`;
        from = match.index + match.length;
        continue;
      }
      emitted += text.slice(from, partial);
      this.#held = text.slice(partial);
      break;
    }
    if (emitted) this.out(emitted);
  }

  end(): void {
    if (this.#held) this.out(this.redactor.text(this.#held));
    this.#held = '';
  }

  /** The first whole secret at or after `from` (the longest, where several start there). */
  #nextMatch(text: string, from: number): { index: number; length: number } | undefined {
    let best: { index: number; length: number } | undefined;
    for (const secret of this.secrets) {
      const index = text.indexOf(secret, from);
      if (index < 0) continue;
      if (!best || index < best.index || (index === best.index && secret.length > best.length)) {
        best = { index, length: secret.length };
      }
    }
    return best;
  }

  /** Where the text's tail starts to be a proper beginning of some secret; text.length if nowhere. */
  #partialTail(text: string, from: number): number {
    const longest = this.redactor.longest;
    for (let start = Math.max(from, text.length - longest + 1); start < text.length; start++) {
      const tail = text.slice(start);
      if (this.secrets.some((secret) => secret.length > tail.length && secret.startsWith(tail))) return start;
    }
    return text.length;
  }
}
