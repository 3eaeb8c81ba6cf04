/** What secret values are replaced with, everywhere (SPEC section 5). */
export const REDACTED = '[REDACTED]';

/** How text cut short to fit a line ends, before anything that closes it (a quote). */
const CUT = '…';

/**
 * A secret as it reads in output that quoted it: a command shell-quoted for display (a run of `'`
 * becomes `'"<run>"'`, and a word that starts or ends with it loses a `'`), and any of these inside
 * a JSON string (a quote, a backslash or a control character escaped). Without these forms, a
 * secret holding such a character would no longer be found where it was quoted.
 */
function quotedForms(secret: string): string[] {
  const forms = [secret];
  if (secret.includes("'")) {
    const shell = secret.replace(/('+)/g, `'"$1"'`);
    forms.push(shell);
    if (shell.startsWith("'")) forms.push(shell.slice(1));
    if (shell.endsWith("'")) forms.push(shell.slice(0, -1));
  }
  return [...forms, ...forms.map((form) => JSON.stringify(form).slice(1, -1))];
}

const longestFirst = (a: string, b: string) => b.length - a.length;

/**
 * Replaces every secret value in text. Longer secrets go first, so that a secret containing
 * another is hidden whole. Values of one or two characters are not secrets anyone could hide in
 * output without breaking it, and are left alone.
 */
export class Redactor {
  readonly #secrets: string[];
  /** The secrets as they are and as quoting writes them (see `quotedForms`), longest first. */
  readonly #forms: string[];

  constructor(values: readonly string[]) {
    this.#secrets = [...new Set(values.filter((v) => v.length >= 3))].sort(longestFirst);
    this.#forms = [...new Set(this.#secrets.flatMap(quotedForms))].sort(longestFirst);
  }

  /** A redactor that also hides `values`. */
  with(values: readonly string[]): Redactor {
    return values.length === 0 ? this : new Redactor([...this.#secrets, ...values]);
  }

  /** The secret values, longest first. */
  get values(): readonly string[] {
    return this.#secrets;
  }

  /** What `text` replaces: each secret, and each as quoting writes it. Longest first. */
  get forms(): readonly string[] {
    return this.#forms;
  }

  get active(): boolean {
    return this.#secrets.length > 0;
  }

  /** The longest secret's length: how much text a stream must hold back across chunk boundaries. */
  get longest(): number {
    return this.#forms[0]?.length ?? 0;
  }

  text(value: string): string {
    let out = value;
    for (const secret of this.#forms) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out.includes(CUT) ? this.#cutTails(out) : out;
  }

  /**
   * Text cut short to fit a line (`…`) may end inside a secret: the beginning of a secret right
   * before a cut mark is hidden too, when it is at least 3 characters long.
   */
  #cutTails(text: string): string {
    let out = '';
    let from = 0;
    for (let cut = text.indexOf(CUT); cut >= 0; cut = text.indexOf(CUT, cut + 1)) {
      let start = cut;
      for (const secret of this.#forms) {
        for (let k = Math.min(secret.length - 1, cut - from); k >= 3; k--) {
          if (cut - k < start && text.startsWith(secret.slice(0, k), cut - k)) {
            start = cut - k;
            break;
          }
        }
      }
      out += start < cut ? `${text.slice(from, start)}${REDACTED}` : text.slice(from, cut);
      from = cut;
    }
    return out + text.slice(from);
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
    private readonly secrets: readonly string[] = redactor.forms,
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
