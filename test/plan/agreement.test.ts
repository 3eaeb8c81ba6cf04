import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzPlanText, planText, TRICKY_SCALARS } from '../../bench/fuzz-plans.js';
import { checkPlanText, fastPathCodes } from '../../src/plan/load.js';
import { parseYaml, parseYamlFast } from '../../src/plan/parse.js';

/**
 * Issue 10, "One plan, one verdict": a valid plan is read by js-yaml (fast, no positions), an
 * invalid one by `yaml` (positions). Both must read YAML 1.2 core alike, so that the verdict and
 * the codes never depend on which one ran.
 */

/** The sorted distinct codes of the positional path alone (the fast path switched off). */
function fullCodes(text: string): string[] {
  const result = checkPlanText('plan.yaml', text, {}, { fastPath: false });
  return result.ok ? [] : [...new Set(result.error.map((d) => d.code))].sort();
}

const YAML_LEVEL = new Set(['yaml-syntax', 'duplicate-key', 'unknown-tag', 'alias-limit']);

const distinct = (codes: string[]) => [...new Set(codes)].sort();

describe('one plan, one verdict, whichever parser reads it', () => {
  it('retries: 0b11 is a string in YAML 1.2 on both paths, with or without an anchor', () => {
    const plain = 'version: 1\nname: a\nservices:\n  a:\n    start: x\n    retries: 0b11\n';
    const anchored = 'version: 1\nname: a\nservices:\n  a: &a\n    start: x\n    retries: 0b11\n';
    for (const text of [plain, anchored]) {
      const result = checkPlanText('plan.yaml', text, {});
      expect(result.ok).toBe(false);
      expect(result.ok ? [] : result.error.map((d) => d.code)).toEqual(['invalid-type']);
    }
    expect(fastPathCodes(plain, {})).toEqual(['invalid-type']);
  });

  it.each([
    ['a comment right after a flow map', 'services:\n  a: {start: x}#c\n'],
    ['a flow map continued on a less indented line', 'services:\n  a: {\nstart: x}\n'],
    ['lone CR line ends', 'services:\r  a: {start: x}\r'],
  ])('%s: js-yaml accepts it, yaml does not, so the fast path declines it', (_label, tail) => {
    const text = `version: 1\nname: a\n${tail}`;
    expect(fullCodes(text)).toEqual(['yaml-syntax']);
    expect(fastPathCodes(text, {})).toBeUndefined();
    expect(checkPlanText('plan.yaml', text, {}).ok).toBe(false);
  });

  it.each(TRICKY_SCALARS)('%s reads the same in both parsers, as a value and as a key', (scalar) => {
    for (const text of [`v: ${scalar}\n`, `${scalar}: v\n`, `[${scalar}]\n`]) {
      const fast = parseYamlFast(text, { always: true });
      // A null key is read as "" by one and "null" by the other: the fast path declines those.
      if (text.startsWith(`${scalar}:`) && /^(~|null|Null)$/.test(scalar)) {
        expect(parseYamlFast(text)).toBeUndefined();
        continue;
      }
      expect(fast, text).toEqual(parseYaml('x.yaml', text).data);
    }
  });

  it('generated plans (anchors, aliases, merges, every number base, YAML 1.1 booleans): same verdict and codes', () => {
    let compared = 0;
    let invalid = 0;
    fc.assert(
      fc.property(planText, (text) => {
        const fast = fastPathCodes(text, {}, true);
        if (fast === undefined) return;
        compared += 1;
        const full = fullCodes(text);
        if (full.length > 0) invalid += 1;
        expect(distinct(fast), text).toEqual(full);
        // The default path (fast first, positions on trouble) gives the same verdict.
        expect(checkPlanText('plan.yaml', text, {}).ok).toBe(full.length === 0);
      }),
      { numRuns: 300, seed: 10_11 },
    );
    // Meaningful only if both verdicts occur often.
    expect(compared).toBeGreaterThan(250);
    expect(invalid).toBeGreaterThan(50);
    expect(compared - invalid).toBeGreaterThan(50);
  });

  it('mutated plans: whenever js-yaml reads a file, the verdict is that of the positional path, and so are the codes of its checks', () => {
    let compared = 0;
    fc.assert(
      fc.property(fuzzPlanText, (text) => {
        const fast = fastPathCodes(text, {}, true);
        if (fast === undefined) return;
        compared += 1;
        const full = fullCodes(text);
        expect(fast.length === 0, JSON.stringify(text)).toBe(full.length === 0);
        // Problems of the YAML itself are found by the positional parser alone (js-yaml is more
        // lenient about some, such as a tab before a scalar); what the checks find must agree.
        if (!full.some((code) => YAML_LEVEL.has(code)))
          expect(distinct(fast), JSON.stringify(text)).toEqual(full);
      }),
      { numRuns: 300, seed: 10_11 },
    );
    expect(compared).toBeGreaterThan(60);
  });
});
