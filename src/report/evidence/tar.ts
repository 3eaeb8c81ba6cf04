import { gunzipSync, gzipSync } from 'node:zlib';
import type { Result } from '../../util/result.js';
import { err, ok } from '../../util/result.js';

/** One file of a bundle: its path inside the bundle's top directory, and its bytes. */
export interface BundleEntry {
  name: string;
  body: Buffer;
}

/**
 * Packs files into a `.tar.gz` that depends on nothing but them (SPEC section 10): entries in
 * byte order of their names under one top directory, every mtime `mtime` (whole seconds), owner
 * and group 0 with no names, modes 0644 (files) and 0755 (the directory), no atime or ctime, and
 * a gzip header without a timestamp (Node's zlib writes mtime 0). node-tar writes the headers; the
 * entries are made from memory, so nothing about the disk they came from (owner, umask, times)
 * reaches the archive. Loaded on use: `--version` and `validate` never load node-tar.
 */
export async function packTarGz(top: string, files: readonly BundleEntry[], mtime: Date): Promise<Buffer> {
  const { Header, Pack, ReadEntry } = await import('tar');
  const stamp = new Date(Math.floor(mtime.getTime() / 1000) * 1000);
  const pack = new Pack({ portable: false, strict: true, noDirRecurse: true, mtime: stamp });
  const chunks: Buffer[] = [];
  pack.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  const add = (path: string, type: 'File' | 'Directory', body: Buffer) => {
    const header = new Header({
      path,
      type,
      mode: type === 'Directory' ? 0o755 : 0o644,
      uid: 0,
      gid: 0,
      uname: '',
      gname: '',
      size: type === 'Directory' ? 0 : body.length,
      mtime: stamp,
    });
    const entry = new ReadEntry(header);
    entry.end(body);
    pack.add(entry);
  };
  add(`${top}/`, 'Directory', Buffer.alloc(0));
  for (const file of [...files].sort((a, b) => compareNames(a.name, b.name)))
    add(`${top}/${file.name}`, 'File', file.body);
  pack.end();
  await done;
  return gzipSync(Buffer.concat(chunks), { level: 9 });
}

/** Byte order (as `LC_ALL=C sort`), not the locale's: the same names always give the same order. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** What reading a bundle found: its top directory and its files in archive order. */
export interface ReadBundle {
  top: string;
  files: BundleEntry[];
  /** Entries that are not a plain file under the top directory (a link, a second top directory...). */
  strays: string[];
}

/**
 * Reads a `.tar.gz` in memory, never onto the disk (so a hostile archive cannot write anywhere).
 * A file that is not gzip, a cut-short gzip stream or a damaged tar is an error in words.
 */
export async function readTarGz(data: Buffer): Promise<Result<ReadBundle, string>> {
  if (data.length < 2 || data[0] !== 0x1f || data[1] !== 0x8b) return err('not a gzip file');
  let tarBytes: Buffer;
  try {
    tarBytes = gunzipSync(data);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return err(
      code === 'Z_BUF_ERROR'
        ? 'the gzip stream is cut short (a truncated file)'
        : `the gzip stream is damaged (${(error as Error).message})`,
    );
  }
  const { Parser } = await import('tar');
  const files: BundleEntry[] = [];
  const strays: string[] = [];
  const problems: string[] = [];
  const parser = new Parser({
    strict: true,
    onwarn: (_code: string, message: string | Error) => {
      problems.push(typeof message === 'string' ? message : message.message);
    },
    onReadEntry: (entry) => {
      const path = entry.path;
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
      entry.on('end', () => {
        if (entry.type === 'Directory') {
          if (!path.replace(/\/$/, '').includes('/')) return;
          strays.push(path);
        } else if ((entry.type !== 'File' && entry.type !== 'OldFile') || !path.includes('/'))
          strays.push(path);
        else files.push({ name: path, body: Buffer.concat(chunks) });
      });
    },
  });
  const ended = new Promise<void>((resolve) => {
    parser.on('end', () => resolve());
    parser.on('error', (error: Error) => {
      problems.push(error.message);
      resolve();
    });
  });
  parser.end(tarBytes);
  await ended;
  if (problems.length > 0) return err(`not a valid tar archive (${problems[0]})`);
  const tops = new Set(files.map((file) => file.name.split('/')[0]!));
  if (files.length === 0) return err('the archive holds no file');
  if (tops.size !== 1) return err(`the archive has ${tops.size} top directories, a bundle has one`);
  const top = [...tops][0]!;
  return ok({
    top,
    files: files.map((file) => ({ name: file.name.slice(top.length + 1), body: file.body })),
    strays,
  });
}
