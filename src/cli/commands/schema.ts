import { planJsonSchema, type SchemaDraft } from '../../plan/schema.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';

export interface SchemaOptions {
  draft: SchemaDraft;
}

/**
 * `restore schema`: the plan format as JSON Schema, from the validator's own schema. 2020-12 by
 * default, as the contract fixes it; `--draft 07` prints the form editors read fully
 * (yaml-language-server does not support all of 2020-12), which is what the package ships.
 */
export function runSchema(options: SchemaOptions, io: Io): ExitCode {
  io.stdout.write(`${JSON.stringify(planJsonSchema(options.draft), null, 2)}\n`);
  return EXIT.ok;
}
