import { parseJournal } from '../../run/state/journal/read.js';
import { MANIFEST, parseManifest, sha256 } from './manifest.js';
import { compareNames, readTarGz } from './tar.js';

/** The bundle's journal: its chain is checked as `audit verify` checks a journal. */
export const JOURNAL = 'journal.jsonl';

export type BundleVerdict =
  | { ok: true; files: number; journalLines: number; torn: boolean }
  /** `problem` names the first file, manifest line or journal line that does not hold. */
  | { ok: false; problem: string };

/**
 * `restore evidence verify` (SPEC section 10): every file matches MANIFEST.sha256, nothing is
 * missing and nothing was added, and the journal's hash chain holds. Files are taken in byte
 * order of their names, so "the first" is the same whoever checks; the chain is checked once
 * every file matches (a changed journal is named as a changed file first, as sha256sum would).
 */
export async function verifyBundle(data: Buffer): Promise<BundleVerdict> {
  const read = await readTarGz(data);
  if (!read.ok) return { ok: false, problem: read.error };
  const { files, strays } = read.value;
  const stray = [...strays].sort(compareNames)[0];
  if (stray !== undefined)
    return { ok: false, problem: `${stray}: not a plain file (a bundle holds only files)` };
  const bodies = new Map<string, Buffer>();
  for (const file of files) {
    if (bodies.has(file.name)) return { ok: false, problem: `${file.name}: in the bundle twice` };
    bodies.set(file.name, file.body);
  }
  const manifestBody = bodies.get(MANIFEST);
  if (manifestBody === undefined) return { ok: false, problem: `${MANIFEST}: missing from the bundle` };
  const manifest = parseManifest(manifestBody.toString('utf8'));
  if (!manifest.ok)
    return {
      ok: false,
      problem: `${MANIFEST} line ${manifest.line}: not "<sha256>  <file>", or a file listed twice`,
    };
  bodies.delete(MANIFEST);
  const names = [...new Set([...manifest.digests.keys(), ...bodies.keys()])].sort(compareNames);
  for (const name of names) {
    const listed = manifest.digests.get(name);
    const body = bodies.get(name);
    if (body === undefined)
      return { ok: false, problem: `${name}: listed in ${MANIFEST} but missing from the bundle` };
    if (listed === undefined)
      return { ok: false, problem: `${name}: in the bundle but not listed in ${MANIFEST}` };
    const actual = sha256(body);
    if (actual !== listed)
      return {
        ok: false,
        problem: `${name}: does not match ${MANIFEST} (sha256 ${actual}, listed ${listed})`,
      };
  }
  const journal = bodies.get(JOURNAL);
  if (journal === undefined) return { ok: false, problem: `${JOURNAL}: missing from the bundle` };
  const chain = parseJournal(journal.toString('utf8'));
  if (chain.broken)
    return {
      ok: false,
      problem: `${JOURNAL}: chain broken at line ${chain.broken.line}: ${chain.broken.reason}`,
    };
  return { ok: true, files: bodies.size + 1, journalLines: chain.lines, torn: chain.torn };
}
