import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitBytes, StderrTail, TAIL_BYTES, withStderr } from '../../src/run/places/process/stderr-tail.js';
import { Redactor } from '../../src/run/redact.js';

describe('SPEC 4 apply, step 11: the stderr lines a failure carries', () => {
  it('keeps the last 5 non-empty lines, oldest first', () => {
    const tail = new StderrTail();
    for (const line of ['a', '', 'b', '   ', 'c', 'd', 'e', 'f', 'g']) tail.push(line);
    expect(tail.lines()).toEqual(['c', 'd', 'e', 'f', 'g']);
    expect(withStderr('exited with code 7', tail.lines())).toBe('exited with code 7: c | d | e | f | g');
    expect(withStderr('exited with code 7', [])).toBe('exited with code 7');
  });

  it('never more than 1 KiB, the newest lines kept whole when they fit', () => {
    const tail = new StderrTail();
    tail.push('x'.repeat(5000));
    tail.push('é'.repeat(300));
    tail.push('last');
    const lines = tail.lines();
    expect(Buffer.byteLength(lines.join(' | '))).toBeLessThanOrEqual(TAIL_BYTES);
    expect(lines.at(-1)).toBe('last');
    expect(lines[0]!.startsWith('…')).toBe(true);
  });

  it('a secret never shows, not even in part where a line is cut', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 6, maxLength: 40, unit: fc.constantFrom('s', 'e', 'c', 'r', '3', 't') }),
        fc.array(fc.nat({ max: 6000 }), { minLength: 1, maxLength: 8 }),
        (secret, pads) => {
          const redactor = new Redactor([secret]);
          const tail = new StderrTail(redactor);
          for (const pad of pads) tail.push(`${'-'.repeat(pad)}${secret}${'+'.repeat(pad % 1500)}${secret}`);
          const text = tail.lines().join(' | ');
          expect(Buffer.byteLength(text)).toBeLessThanOrEqual(TAIL_BYTES);
          // No run of 4 or more characters of the secret is left anywhere.
          for (let i = 0; i + 4 <= secret.length; i++) expect(text).not.toContain(secret.slice(i, i + 4));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('fitBytes cuts the oldest line kept at its start', () => {
    expect(fitBytes(['aaaa', 'bbbb'], 9)).toEqual(['bbbb']);
    expect(fitBytes(['aaaaaaaa', 'bb'], 10)).toEqual(['…aa', 'bb']);
  });
});
