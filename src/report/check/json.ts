import type { Finding } from '../../run/engine/preflight.js';

/** The array shape of SPEC section 8: `[ { service?, host?, check, level, message } ]`, in that key order. */
export function renderCheckJson(findings: readonly Finding[]): string {
  return `${JSON.stringify(
    findings.map(({ service, host, check, level, message }) => ({
      ...(service !== undefined ? { service } : {}),
      ...(host !== undefined ? { host } : {}),
      check,
      level,
      message,
    })),
    null,
    2,
  )}\n`;
}
