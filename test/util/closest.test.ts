import fc from 'fast-check';
import { distance as levenshtein } from 'fastest-levenshtein';
import { describe, expect, it } from 'vitest';
import { closest, editDistance } from '../../src/util/closest.js';

const SERVICE_KEYS = [
  'stage',
  'description',
  'depends_on',
  'critical',
  'skip_if_healthy',
  'start',
  'stop',
  'health',
];
const CHECK_KINDS = ['http', 'tcp', 'exec'];

describe('Validation hints: closest known name (SPEC 2, "Validation")', () => {
  it('a dash written for an underscore is recognised ("depends-on" -> "depends_on")', () => {
    expect(closest('depends-on', SERVICE_KEYS)).toBe('depends_on');
  });

  it('a dropped letter in a short word is recognised ("htp" -> "http")', () => {
    expect(closest('htp', CHECK_KINDS)).toBe('http');
  });

  it('common typos of longer keys are recognised', () => {
    expect(closest('helth', SERVICE_KEYS)).toBe('health');
    expect(closest('dependson', SERVICE_KEYS)).toBe('depends_on');
    expect(closest('skip_if_heathy', SERVICE_KEYS)).toBe('skip_if_healthy');
  });

  it('a word far from every candidate gets no suggestion', () => {
    expect(closest('banana', SERVICE_KEYS)).toBeUndefined();
    expect(closest('xyz', CHECK_KINDS)).toBeUndefined();
    expect(closest('postgres-replica', ['api', 'web', 'worker'])).toBeUndefined();
  });

  it('a short word tolerates one edit, not two', () => {
    expect(closest('tp', CHECK_KINDS)).toBe('tcp');
    expect(closest('hp', CHECK_KINDS)).toBeUndefined();
  });

  it('a long word tolerates at most three edits', () => {
    const candidates = ['skip_if_healthy'];
    expect(closest('skip_if_hxxxthy', candidates)).toBe('skip_if_healthy');
    expect(closest('skip_if_hxxxxhy', candidates)).toBeUndefined();
  });

  it('a difference of case only is always suggested', () => {
    expect(closest('HTTP', CHECK_KINDS)).toBe('http');
    expect(closest('A', ['a'])).toBe('a');
  });

  it('the word itself is never suggested', () => {
    expect(closest('http', ['http'])).toBeUndefined();
    expect(closest('http', ['http', 'https'])).toBe('https');
  });

  it('no candidates means no suggestion', () => {
    expect(closest('http', [])).toBeUndefined();
  });

  it('between equally close candidates the smallest name wins, whatever their order', () => {
    expect(closest('bat', ['hat', 'cat'])).toBe('cat');
    expect(closest('bat', ['cat', 'hat'])).toBe('cat');
  });

  it('a closer candidate wins over an earlier one', () => {
    expect(closest('stat', ['stage', 'start'])).toBe('start');
  });
});

describe('Validation hints: a swap of two adjacent letters is one edit', () => {
  it('transposed letters are recognised in short and long words', () => {
    expect(closest('cahce', ['cache', 'cwd'])).toBe('cache');
    expect(closest('hsot', ['host', 'stop'])).toBe('host');
    expect(closest('stpo', ['stop', 'start'])).toBe('stop');
    expect(closest('tpc', CHECK_KINDS)).toBe('tcp');
    expect(closest('tiemout', ['timeout', 'retries'])).toBe('timeout');
    expect(closest('depnds_on', SERVICE_KEYS)).toBe('depends_on');
    expect(closest('dpeends_on', SERVICE_KEYS)).toBe('depends_on');
  });

  it('known distances', () => {
    expect(editDistance('cahce', 'cache')).toBe(1);
    expect(editDistance('ca', 'abc')).toBe(3); // OSA: a substring is not edited twice
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
  });
});

/** The textbook full-matrix optimal string alignment distance, as an oracle. */
function reference(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
      }
    }
  }
  return d[a.length]![b.length]!;
}

describe('editDistance properties', () => {
  // A small alphabet makes repeated and swapped letters frequent.
  const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd', '_'), maxLength: 12 });
  const runs = { numRuns: 2000 };

  it('equals the full-matrix optimal string alignment distance', () => {
    fc.assert(
      fc.property(word, word, (a, b) => editDistance(a, b) === reference(a, b)),
      runs,
    );
  });

  it('is symmetric, zero exactly for equal words, and bounded by the lengths', () => {
    fc.assert(
      fc.property(word, word, (a, b) => {
        const d = editDistance(a, b);
        expect(d).toBe(editDistance(b, a));
        expect(d === 0).toBe(a === b);
        expect(d).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
      }),
      runs,
    );
  });

  it('never exceeds Levenshtein, and is at least half of it (a swap is two Levenshtein edits)', () => {
    fc.assert(
      fc.property(word, word, (a, b) => {
        const d = editDistance(a, b);
        const l = levenshtein(a, b);
        expect(d).toBeLessThanOrEqual(l);
        expect(d).toBeGreaterThanOrEqual(Math.ceil(l / 2));
      }),
      runs,
    );
  });

  it('a swap of two different adjacent letters is exactly one edit', () => {
    fc.assert(
      fc.property(
        word.filter((w) => w.length >= 2),
        fc.nat(),
        (w, at) => {
          const i = at % (w.length - 1);
          fc.pre(w[i] !== w[i + 1]);
          const swapped = w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2);
          expect(editDistance(w, swapped)).toBe(1);
        },
      ),
      runs,
    );
  });
});
