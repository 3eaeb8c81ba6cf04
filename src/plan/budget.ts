import type { ResolvedFailureBudget } from './model.js';

/**
 * A stage's `max_failures` (SPEC section 11): a count, or "p%" of the stage's services rounded
 * down, so that "25%" of 3 services tolerates none and of 4 tolerates one. The share is taken of
 * the stage's services in the plan, whatever `--only` selects: the budget is what the digest and
 * the preview show, not something a flag moves.
 */
export function failureBudget(written: number | string, services: number): ResolvedFailureBudget {
  if (typeof written === 'number') return { written, count: written };
  // Hundredths, in integers: floor(12.5% of 8) is 1 exactly, not 0.9999... rounded down to 0.
  const hundredths = percentHundredths(written) ?? 0;
  return { written, count: Math.floor((hundredths * services) / 10_000) };
}

/** "12.5%" as 1250 hundredths of a percent (finer digits cut off); undefined when not a share. */
export function percentHundredths(written: string): number | undefined {
  const match = /^(\d{1,3})(?:\.(\d+))?%$/.exec(written);
  if (!match) return undefined;
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0').slice(0, 2));
}
