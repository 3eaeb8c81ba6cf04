import { planJsonSchema, type SchemaDraft } from '../../plan/schema.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';

export interface SchemaOptions {
  draft: SchemaDraft;
}

/**
 * `restore schema`: the plan format as JSON Schema, from the validator's own schema. Draft-07 by
 * default: yaml-language-server (VS Code's YAML extension and others) does not fully support
 * 2020-12; `--draft 2020-12` prints the other.
 */
export function runSchema(options: SchemaOptions, io: Io): ExitCode {
  io.stdout.write(`${JSON.stringify(planJsonSchema(options.draft), null, 2)}\n`);
  return EXIT.ok;
}
