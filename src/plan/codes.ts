/** Stable validation codes (SPEC section 2, "Validation"). Users and CI match on these strings. */
export const CODES = [
  'yaml-syntax',
  'duplicate-key',
  'unknown-key',
  'invalid-type',
  'invalid-value',
  'invalid-name',
  'invalid-duration',
  'missing-key',
  'unsupported-version',
  'unknown-dependency',
  'self-dependency',
  'dependency-cycle',
  'stage-order',
  'unknown-stage',
  'unknown-host',
  'missing-stage',
  'unset-variable',
  'file-too-large',
  'alias-limit',
  'unknown-tag',
] as const;

export type Code = (typeof CODES)[number];
