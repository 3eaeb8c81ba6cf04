import { describe, expect, expectTypeOf, it } from 'vitest';
import { ON_FAILURE_MODES, type OnFailure, SCHEMA_DRAFTS } from '../../src/cli/choices.js';
import type { SchemaDraft } from '../../src/plan/schema.js';
import { planJsonSchema } from '../../src/plan/schema.js';
import type { ApplyRequest } from '../../src/run/engine/apply.js';

describe('the CLI offers exactly the values their owners take', () => {
  it('--on-failure: the modes the engine implements, no more and no fewer', () => {
    // Checked by the compiler (npm run lint): `satisfies` in choices.ts holds one direction, this the other.
    expectTypeOf<OnFailure>().toEqualTypeOf<ApplyRequest['onFailure']>();
    expect(ON_FAILURE_MODES).toEqual(['halt', 'rollback']);
  });

  it('--draft: the JSON Schema drafts the schema prints, each a schema of its own draft', () => {
    expectTypeOf<(typeof SCHEMA_DRAFTS)[number]>().toEqualTypeOf<SchemaDraft>();
    const targets = SCHEMA_DRAFTS.map((draft) => planJsonSchema(draft).$schema);
    expect(targets).toEqual([
      'https://json-schema.org/draft/2020-12/schema',
      'http://json-schema.org/draft-07/schema#',
    ]);
  });
});
