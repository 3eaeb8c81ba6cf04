import { createHash } from 'node:crypto';
import { type BundleEntry, compareNames } from './tar.js';

/** The manifest's name in a bundle: every other file is listed in it. */
export const MANIFEST = 'MANIFEST.sha256';

export const sha256 = (body: Buffer): string => createHash('sha256').update(body).digest('hex');

/**
 * `sha256sum` format, so `sha256sum -c MANIFEST.sha256` checks an extracted bundle: one line per
 * file, `<hex>  <name>` (two spaces: text mode), names relative to the bundle's directory, in
 * byte order. Bundle names are plain (no newline or backslash), which sha256sum would escape.
 */
export function renderManifest(files: readonly BundleEntry[]): string {
  return [...files]
    .sort((a, b) => compareNames(a.name, b.name))
    .map((file) => `${sha256(file.body)}  ${file.name}\n`)
    .join('');
}

/** A manifest's lines as name → digest, or the first line that is not one, 1-based. */
export function parseManifest(
  text: string,
): { ok: true; digests: Map<string, string> } | { ok: false; line: number } {
  const digests = new Map<string, string>();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const [index, line] of lines.entries()) {
    // sha256sum writes `  ` (text) or ` *` (binary) between digest and name; both are read.
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!match || digests.has(match[2]!)) return { ok: false, line: index + 1 };
    digests.set(match[2]!, match[1]!);
  }
  return { ok: true, digests };
}
