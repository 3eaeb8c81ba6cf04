import { describe, expect, it } from 'vitest';
import { clockSkewMs, judgeSkew, MAX_CLOCK_SKEW_MS } from '../../src/run/engine/preflight.js';

describe("SPEC 8: a host's clock within 5 s of this one", () => {
  const before = 1_700_000_000_000;

  it('a host reading inside the round trip is no skew at all', () => {
    // date +%s truncates: 1700000000 is any time in [..000, ..999].
    expect(clockSkewMs(1_700_000_000, before + 400, before + 600)).toBe(0);
    expect(clockSkewMs(1_699_999_999, before - 500, before + 300)).toBe(0);
  });

  it('counts only what no round trip or truncation can explain, with its sign', () => {
    // Host says +10 s; the call took 2 s: at least 8 s ahead.
    expect(clockSkewMs(1_700_000_010, before, before + 2000)).toBe(8000);
    // Host says -10 s; its second may end 999 ms later: at least 9001 ms behind.
    expect(clockSkewMs(1_699_999_990, before, before + 100)).toBe(-9001);
  });

  it('a slow round trip cannot make a close clock look skewed', () => {
    expect(clockSkewMs(1_700_000_020, before, before + 30_000)).toBe(0);
  });

  it('is a warning only past 5 s, either way', () => {
    expect(judgeSkew(MAX_CLOCK_SKEW_MS).level).toBe('ok');
    expect(judgeSkew(-MAX_CLOCK_SKEW_MS).level).toBe('ok');
    expect(judgeSkew(MAX_CLOCK_SKEW_MS + 1)).toEqual({
      level: 'warning',
      message: "5 s ahead of this machine's (more than 5 s)",
    });
    expect(judgeSkew(-12_400)).toEqual({
      level: 'warning',
      message: "12 s behind this machine's (more than 5 s)",
    });
  });
});
