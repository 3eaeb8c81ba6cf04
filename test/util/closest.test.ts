import { describe, expect, it } from 'vitest';
import { closest } from '../../src/util/closest.js';

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
