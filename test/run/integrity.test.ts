import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/run/engine/integrity.js';

const A = 'a'.repeat(64);
const B = 'B'.repeat(64);

describe('a verify: manifest in sha256sum format (SPEC 7)', () => {
  it('reads text and binary mode lines, paths relative to its directory, blank lines and CRLF ignored', () => {
    expect(parseManifest(`${A}  bin/api\r\n\n${B} *lib/x.so\n`, '/srv/api/SHA256SUMS')).toEqual({
      ok: true,
      entries: [
        { path: '/srv/api/bin/api', sha256: A },
        { path: '/srv/api/lib/x.so', sha256: 'b'.repeat(64) },
      ],
    });
    expect(parseManifest(`${A}  ./a/../b\n`, 'SHA256SUMS')).toEqual({
      ok: true,
      entries: [{ path: 'b', sha256: A }],
    });
    expect(parseManifest(`${A}  x\n`, '~/rel/SUMS')).toEqual({
      ok: true,
      entries: [{ path: '~/rel/x', sha256: A }],
    });
  });

  it('refuses a path outside its directory, a line not in the format, and a manifest that lists nothing', () => {
    for (const listed of ['../x', 'a/../../x', '..', '/etc/passwd']) {
      const parsed = parseManifest(`${A}  ok\n${A}  ${listed}\n`, 'rel/SUMS');
      expect(parsed).toEqual({
        ok: false,
        message: `manifest rel/SUMS, line 2: ${JSON.stringify(listed)} is outside the manifest's directory; refused`,
      });
    }
    expect(parseManifest('SHA256 (x) = abc\n', 'SUMS')).toMatchObject({
      ok: false,
      message: expect.stringContaining('manifest SUMS, line 1: expected "<sha256>  <path>"'),
    });
    expect(parseManifest('\n\n', 'SUMS')).toEqual({ ok: false, message: 'manifest SUMS lists no files' });
  });
});
