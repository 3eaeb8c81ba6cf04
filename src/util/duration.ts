/**
 * Durations in plans are strings with units, largest first: `250ms`, `2s`, `5m`, `1h`, `1m30s`.
 * Hand-written rather than taken from `ms` or `parse-duration`: those accept bare numbers, spaces
 * and long unit names, and a plan must be rejected (with a precise message) when it is ambiguous.
 */
export const DURATION_PATTERN = '^(?=\\d)(?:\\d+h)?(?:\\d+m(?!s))?(?:\\d+s)?(?:\\d+ms)?$';
const DURATION_RE = new RegExp(DURATION_PATTERN);
const PART_RE = /(\d+)(ms|h|m|s)/g;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

/** Milliseconds of a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION_RE.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(PART_RE)) {
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  }
  return Number.isSafeInteger(total) ? total : undefined;
}

/** The shortest string form of a number of milliseconds (`90000` -> `1m30s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let text = '';
  for (const [unit, size] of Object.entries(UNIT_MS)) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return text;
}

/** A human figure for elapsed time: `850ms`, `2.4s`, `3m05s`. */
export function formatElapsed(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1000);
  if (minutes < 60) return `${minutes}m${String(seconds).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** Why a value is not a duration, and the string it most likely meant, for diagnostics. */
export function explainDuration(value: unknown): { message: string; hint?: string } {
  if (typeof value === 'number' && Number.isFinite(value)) {
    if (value < 0) return { message: 'a duration cannot be negative' };
    const hint = secondsHint(String(value));
    return {
      message: `a duration needs a unit; a bare number (${value}) is ambiguous`,
      ...(hint ? { hint } : {}),
    };
  }
  if (typeof value !== 'string') {
    return { message: 'expected a duration string such as "500ms", "2s", "5m" or "1m30s"' };
  }
  const trimmed = value.trim();
  if (trimmed.startsWith('-')) return { message: `a duration cannot be negative (got "${value}")` };
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    const hint = secondsHint(trimmed);
    return { message: `a duration needs a unit; "${value}" is ambiguous`, ...(hint ? { hint } : {}) };
  }
  const compact = trimmed.replace(/\s+/g, '').toLowerCase();
  const spelled = compact
    .replace(/(\d+)(?:hours?|hrs?)/g, '$1h')
    .replace(/(\d+)(?:minutes?|mins?)/g, '$1m')
    .replace(/(\d+)(?:seconds?|secs?)/g, '$1s')
    .replace(/(\d+)(?:milliseconds?|msecs?)/g, '$1ms');
  const hint =
    spelled !== value && parseDuration(spelled) !== undefined ? `did you mean "${spelled}"?` : undefined;
  return {
    message: `"${value}" is not a duration: use digits with units h, m, s, ms, largest first ("500ms", "2s", "1m30s")`,
    ...(hint ? { hint } : {}),
  };
}

/** `did you mean "5s"?` for a bare number of seconds, in milliseconds when fractional; only valid hints. */
function secondsHint(number: string): string | undefined {
  const ms = Number(number) * 1000;
  const text = Number.isInteger(Number(number)) ? `${number}s` : Number.isInteger(ms) ? `${ms}ms` : undefined;
  return text !== undefined && parseDuration(text) !== undefined ? `did you mean "${text}"?` : undefined;
}
