import { posix } from 'node:path';
import type { ResolvedVerify } from '../../plan/model.js';
import type { Place } from '../places/place.js';

/**
 * Integrity before start (SPEC section 7): the artifacts a service lists under `verify:`,
 * checked where it runs, with what that place has (places/local.ts, places/ssh/place.ts).
 * Nothing here emits events: `apply` says what it found (restore-service.ts), `restore check`
 * reports it its own way.
 */

/** A manifest is a list of digests, not an artifact: one larger than this is refused unread. */
export const MANIFEST_MAX_BYTES = 1024 * 1024;

/** A file that was hashed, and what it hashed to. */
export interface VerifiedFile {
  /** `listed`: a file a manifest names, its path relative to the place as hashed. */
  kind: 'file' | 'manifest' | 'listed' | 'signed';
  path: string;
  sha256: string;
}

/** What checking one `verify:` item found. */
export interface ArtifactResult {
  item: ResolvedVerify;
  ok: boolean;
  /** Failed: what is wrong, naming the file (and both digests for a mismatch). Passed: what was checked. */
  message: string;
  /** Every file hashed for it, in order; with a failure, those that passed before it. */
  files: VerifiedFile[];
}

/** The file an item is about, as written in the plan. */
export function artifactPath(item: ResolvedVerify): string {
  return item.kind === 'file' ? item.file : item.kind === 'manifest' ? item.manifest : item.signed;
}

/**
 * Checks every item at `place`, one after another (a manifest's files too: one disk read at a
 * time is what a host under recovery can spare), and says what each found. Never throws; an
 * aborted signal ends it early with the items left unchecked marked as interrupted.
 */
export async function verifyArtifacts(
  place: Place,
  items: readonly ResolvedVerify[],
  signal?: AbortSignal,
): Promise<ArtifactResult[]> {
  const results: ArtifactResult[] = [];
  for (const item of items) {
    if (signal?.aborted) {
      results.push({
        item,
        ok: false,
        message: `${artifactPath(item)}: not checked (interrupted)`,
        files: [],
      });
      continue;
    }
    results.push(await verifyOne(place, item, signal));
  }
  return results;
}

async function verifyOne(place: Place, item: ResolvedVerify, signal?: AbortSignal): Promise<ArtifactResult> {
  const files: VerifiedFile[] = [];
  const failed = (message: string): ArtifactResult => ({ item, ok: false, message, files });
  switch (item.kind) {
    case 'file': {
      const hashed = await pinned(place, 'file', item.file, item.sha256, signal);
      if (!hashed.ok) return failed(hashed.message);
      files.push(hashed.file);
      return { item, ok: true, message: `${item.file}: sha256 ${item.sha256}`, files };
    }
    case 'manifest': {
      const hashed = await pinned(place, 'manifest', item.manifest, item.sha256, signal);
      if (!hashed.ok) return failed(hashed.message);
      files.push(hashed.file);
      const read = await place.readFile(item.manifest, MANIFEST_MAX_BYTES, signal);
      if (!read.ok) return failed(`manifest ${read.message}`);
      const entries = parseManifest(read.text, item.manifest);
      if (!entries.ok) return failed(entries.message);
      for (const entry of entries.entries) {
        const listed = await pinned(place, 'listed', entry.path, entry.sha256, signal, item.manifest);
        if (!listed.ok) return failed(listed.message);
        files.push(listed.file);
      }
      return {
        item,
        ok: true,
        message: `${item.manifest}: sha256 ${item.sha256}, ${entries.entries.length} listed file(s) match`,
        files,
      };
    }
    case 'signed': {
      const request = {
        file: item.signed,
        signature: item.signature,
        allowedSigners: item.allowed_signers,
        identity: item.identity,
        namespace: item.namespace,
      };
      const checked = await place.verifySignature(request, signal);
      if (!checked.ok) return failed(checked.message);
      // The digest of what was found good, for the journal: which release was started.
      const digest = await place.hashFile(item.signed, signal);
      if (!digest.ok) return failed(digest.message);
      files.push({ kind: 'signed', path: item.signed, sha256: digest.sha256 });
      return { item, ok: true, message: `${item.signed}: ${checked.message}`, files };
    }
  }
}

type Pinned = { ok: true; file: VerifiedFile } | { ok: false; message: string };

/** Hashes one file and compares it with the digest the plan (or a manifest) pins. */
async function pinned(
  place: Place,
  kind: VerifiedFile['kind'],
  path: string,
  expected: string,
  signal: AbortSignal | undefined,
  manifest?: string,
): Promise<Pinned> {
  const digest = await place.hashFile(path, signal);
  const listedIn = manifest === undefined ? '' : ` (listed in ${manifest})`;
  if (!digest.ok) return { ok: false, message: `${digest.message}${listedIn}` };
  if (digest.sha256 !== expected) {
    return {
      ok: false,
      message: `${path}${listedIn} does not match: expected sha256 ${expected}, actual ${digest.sha256}`,
    };
  }
  return { ok: true, file: { kind, path, sha256: digest.sha256 } };
}

export type ManifestEntries =
  | { ok: true; entries: { path: string; sha256: string }[] }
  | { ok: false; message: string };

/**
 * A manifest in `sha256sum` format: `<64 hex>  <path>` (text mode) or `<64 hex> *<path>`
 * (binary mode), blank lines ignored. Each path is taken relative to the manifest's directory
 * and must stay inside it: an absolute path or one that climbs out with `..` is refused, so a
 * manifest cannot vouch for a file its release does not hold. A manifest listing nothing vouches
 * for nothing, and is refused too.
 */
export function parseManifest(text: string, manifest: string): ManifestEntries {
  const dir = posix.dirname(manifest);
  const entries: { path: string; sha256: string }[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const match = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (!match) {
      return {
        ok: false,
        message: `manifest ${manifest}, line ${index + 1}: expected "<sha256>  <path>" (sha256sum format), found ${JSON.stringify(line.slice(0, 80))}`,
      };
    }
    const listed = match[2]!;
    const normal = posix.normalize(listed);
    if (posix.isAbsolute(listed) || normal === '..' || normal.startsWith('../')) {
      return {
        ok: false,
        message: `manifest ${manifest}, line ${index + 1}: ${JSON.stringify(listed)} is outside the manifest's directory; refused`,
      };
    }
    entries.push({ path: dir === '.' ? normal : posix.join(dir, normal), sha256: match[1]!.toLowerCase() });
  }
  if (entries.length === 0) return { ok: false, message: `manifest ${manifest} lists no files` };
  return { ok: true, entries };
}
