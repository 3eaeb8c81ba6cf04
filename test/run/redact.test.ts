import fc from 'fast-check';
import { join } from 'shlex';
import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor, StreamRedactor } from '../../src/run/redact.js';

describe('SPEC 5 secrets are never written', () => {
  it('replaces every occurrence, longer secrets first', () => {
    const r = new Redactor(['hunter2', 'hunter2-admin']);
    expect(r.text('a hunter2 b hunter2-admin c')).toBe(`a ${REDACTED} b ${REDACTED} c`);
  });

  it('redacts plain data deeply, leaving other values alone', () => {
    const r = new Redactor(['s3cret']);
    expect(r.deep({ a: 's3cret!', b: [1, 'x s3cret'], c: { d: true } })).toEqual({
      a: `${REDACTED}!`,
      b: [1, `x ${REDACTED}`],
      c: { d: true },
    });
  });

  it('a secret is hidden as JSON quotes it too (a quote, a backslash or a newline inside)', () => {
    const secret = 'p"a\\ss\nw0rd';
    const r = new Redactor([secret]);
    const quoted = JSON.stringify({ message: `got ${JSON.stringify(secret)}` });
    expect(r.text(quoted)).not.toContain(JSON.stringify(secret).slice(1, -1));
    expect(JSON.parse(r.text(quoted)).message).not.toContain(secret);
    expect(r.text(`raw ${secret}`)).toBe(`raw ${REDACTED}`);
  });

  it('a secret holding a single quote is hidden where a command was shell-quoted for display', () => {
    for (const secret of ["it's-secret", "'lead", "trail'", "x''y-z"]) {
      const r = new Redactor([secret]);
      for (const word of [secret, `--token=${secret}`, `${secret} and more`]) {
        const shown = join(['cmd', word]);
        expect(r.text(shown), shown).not.toMatch(/secret|lead|trail|y-z/);
        expect(r.text(JSON.stringify(shown)), shown).not.toMatch(/secret|lead|trail|y-z/);
      }
    }
  });

  it('the beginning of a secret where text was cut short (…) is hidden too, from 3 characters', () => {
    const r = new Redactor(['hunter22-long']);
    expect(r.text('exit 1: token hunter2…')).toBe(`exit 1: token ${REDACTED}…`);
    expect(r.text('"hun…" and "hu…"')).toBe(`"${REDACTED}…" and "hu…"`);
    expect(r.text('hunter2 not cut')).toBe('hunter2 not cut');
  });

  it('values of one or two characters are left alone; `with` adds values', () => {
    const r = new Redactor(['ab', 'x']).with(['abc']);
    expect(r.values).toEqual(['abc']);
    expect(r.text('ab x abc')).toBe(`ab x ${REDACTED}`);
  });

  it('a secret split across chunks of a stream is still redacted (property)', () => {
    // A secret that is part of the replacement, or could run into it ("ED]", "D]x"), would be
    // found in any redacted output: such a value is not a secret anyone could keep out of it.
    const secret = fc
      .string({ minLength: 3, maxLength: 12 })
      .filter((s) => !s.includes('\u0000') && !/[[\]]/.test(s) && !REDACTED.includes(s));
    fc.assert(
      fc.property(
        fc.uniqueArray(secret, { minLength: 1, maxLength: 3 }),
        fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.constant('§')), { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (secrets, pieces, cuts) => {
          // Build text with secrets planted between the pieces.
          const text = pieces.map((piece, i) => `${piece}${secrets[i % secrets.length]}`).join('|');
          const redactor = new Redactor(secrets);
          const expected = redactor.text(text);
          const positions = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          let out = '';
          const stream = new StreamRedactor(redactor, (chunk) => {
            out += chunk;
          });
          let last = 0;
          for (const p of [...positions, text.length]) {
            stream.push(text.slice(last, p));
            last = p;
          }
          stream.end();
          for (const s of secrets)
            expect(out.includes(s), `${JSON.stringify(out)} still holds ${JSON.stringify(s)}`).toBe(false);
          // Where no secret overlaps another, the stream gives exactly what redacting the whole text gives.
          if (!secrets.some((a) => secrets.some((b) => a !== b && (a.includes(b) || overlaps(a, b)))))
            expect(out).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});

/** Whether a suffix of one is a prefix of the other. */
function overlaps(a: string, b: string): boolean {
  for (let k = 1; k < Math.min(a.length, b.length); k++) if (a.endsWith(b.slice(0, k))) return true;
  return false;
}
