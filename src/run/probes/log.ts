import type { LogCheck } from '../../plan/model.js';
import type { CheckResult } from './types.js';

/** Longest pattern shown in a detail. */
const MAX_PATTERN_CHARS = 60;
/** The longest line a pattern is tested against: a longer one is tested on its start. */
export const MAX_LINE_CHARS = 64 * 1024;

/**
 * Where a `log` check reads a service's output (SPEC section 11): the lines of its current start
 * attempt, fed as they come (a one-shot's output lines, a daemon's log since it was spawned).
 * It keeps, per pattern, whether a line has matched yet, and the last line seen for a failure's
 * message: never the lines themselves, so a chatty service costs no memory.
 */
export class OutputWatch {
  readonly #patterns = new Map<string, RegExp | null>();
  readonly #matched = new Set<string>();
  #lines = 0;
  #last: string | undefined;
  /** Reads what a daemon wrote since the last call, before a round looks (set while one runs). */
  #pull: (() => Promise<void>) | undefined;

  constructor(checks: readonly LogCheck[]) {
    for (const check of checks) {
      let pattern: RegExp | null;
      try {
        pattern = new RegExp(check.matches);
      } catch {
        // Validation refuses such a plan; a resolved plan built by hand still gets a clear result.
        pattern = null;
      }
      this.#patterns.set(check.matches, pattern);
    }
  }

  /** A new attempt starts: what the last one printed no longer counts. */
  reset(pull?: () => Promise<void>): void {
    this.#matched.clear();
    this.#lines = 0;
    this.#last = undefined;
    this.#pull = pull;
  }

  /** One line of the service's output. */
  line(text: string): void {
    this.#lines += 1;
    const line = text.length > MAX_LINE_CHARS ? text.slice(0, MAX_LINE_CHARS) : text;
    if (line.trim() !== '') this.#last = line.length > 200 ? `${line.slice(0, 200)}…` : line;
    for (const [source, pattern] of this.#patterns) {
      if (!this.#matched.has(source) && pattern?.test(line)) this.#matched.add(source);
    }
  }

  /** Brings in what a daemon wrote since the last look. */
  async refresh(): Promise<void> {
    await this.#pull?.();
  }

  /** The check's result from what has been seen so far. */
  result(check: LogCheck): CheckResult {
    const target = `/${clip(check.matches)}/`;
    const base = { kind: 'log' as const, target, durationMs: 0 };
    if (this.#patterns.get(check.matches) === null)
      return { ...base, ok: false, detail: 'not a valid regular expression' };
    if (this.#matched.has(check.matches)) return { ...base, ok: true, detail: 'a line matched' };
    const seen =
      this.#lines === 0
        ? 'no output yet'
        : `${this.#lines} line${this.#lines === 1 ? '' : 's'}, none matching; last: ${JSON.stringify(this.#last ?? '')}`;
    return { ...base, ok: false, detail: `expected a line matching ${target}: ${seen}` };
  }
}

/** A `log` check where no output of this run can be read (plan --live, check, before a start). */
export function logUnreadable(check: LogCheck, why: string): CheckResult {
  return { kind: 'log', target: `/${clip(check.matches)}/`, ok: false, detail: why, durationMs: 0 };
}

function clip(text: string): string {
  return text.length > MAX_PATTERN_CHARS ? `${text.slice(0, MAX_PATTERN_CHARS)}…` : text;
}
