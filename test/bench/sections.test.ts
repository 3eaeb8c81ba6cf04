import { describe, expect, it } from 'vitest';
import { applyOverhead } from '../../bench/apply-overhead.js';
import { execaOptions } from '../../bench/execa-options.js';
import { fuzz } from '../../bench/fuzz.js';
import { planModel } from '../../bench/plan-model.js';
import { type Section, selectSections } from '../../bench/section.js';

const ALL: readonly Section[] = [planModel, applyOverhead, execaOptions, fuzz];
const names = (sections: readonly Section[]) => sections.map((section) => section.name);

describe('npm run bench: which sections run', () => {
  it('without names, every section but the long ones (fuzz, execa-options)', () => {
    expect(names(selectSections(ALL, []))).toEqual(['plan-model', 'apply-overhead']);
  });

  it('a section that runs only when named runs when it is named', () => {
    expect(names(selectSections(ALL, ['fuzz']))).toEqual(['fuzz']);
    expect(names(selectSections(ALL, ['execa-options', 'plan-model']))).toEqual([
      'plan-model',
      'execa-options',
    ]);
  });
});
