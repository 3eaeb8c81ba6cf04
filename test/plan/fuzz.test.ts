import { describe, expect, it } from 'vitest';
import { describeFindings, findingCount, fuzzInProcess } from '../../bench/fuzz-run.js';
import { useTempDir } from '../helpers/tmp.js';

const tempDir = useTempDir();

/**
 * A seeded share of the fuzzer (`node dist/bench/run.js fuzz` runs 100,000): generated and
 * mutated plans through `validate` and `plan`, every format, in this process. Any finding (a stack
 * trace, an exit code outside 0/1/2, a run over 10 s, stdout of --format json that is not JSON)
 * fails with the input that caused it; replay it with FUZZ_SEED.
 */
describe('fuzzing: generated and mutated plans through validate and plan (in-process share)', () => {
  it('1,000 plans: no stack trace, no exit code outside the SPEC, no hang, only JSON from --format json', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20_261_201);
    const figures = await fuzzInProcess({ seed, count: 1000, dir: tempDir() });
    expect(findingCount(figures), `seed ${seed}\n${describeFindings(figures)}`).toBe(0);
    expect(figures.runs).toBe(2000);
    // Both verdicts occur, so that both the valid path (plan output) and diagnostics are exercised.
    expect(figures.exits['0']).toBeGreaterThan(30);
    expect(figures.exits['1']).toBeGreaterThan(600);
    // About 12 s of CPU; far longer when the machine is shared with the rest of the suite.
  }, 600_000);
});
