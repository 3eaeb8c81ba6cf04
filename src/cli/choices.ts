import type { SchemaDraft } from '../plan/schema.js';
import type { ApplyRequest } from '../run/engine/apply.js';

/**
 * Values of options whose owners are heavy modules (the engine, the zod schema), listed here so
 * that --help loads neither. Each tuple `satisfies` its owner's type, and test/cli/choices.test.ts
 * checks the reverse: a value added on either side alone is a compile error.
 */

/** `apply --on-failure`: what happens after a critical failure (SPEC section 4). */
export const ON_FAILURE_MODES = ['halt', 'rollback'] as const satisfies readonly ApplyRequest['onFailure'][];
export type OnFailure = (typeof ON_FAILURE_MODES)[number];

/** `schema --draft`: 2020-12 first, the contract's default. */
export const SCHEMA_DRAFTS = ['2020-12', '07'] as const satisfies readonly SchemaDraft[];
