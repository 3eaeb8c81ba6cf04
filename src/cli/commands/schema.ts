import { planJsonSchema } from '../../plan/schema.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';

/** `restore schema`: the plan format as JSON Schema 2020-12, from the validator's own schema. */
export function runSchema(io: Io): ExitCode {
  io.stdout.write(`${JSON.stringify(planJsonSchema(), null, 2)}\n`);
  return EXIT.ok;
}
