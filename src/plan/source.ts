import { open } from 'node:fs/promises';
import type { Result } from '../util/result.js';
import { err, ok } from '../util/result.js';

/** Plans over this size are refused without being read whole (`file-too-large`). */
export const MAX_PLAN_BYTES = 10 * 1024 * 1024;

export type SourceText = { kind: 'text'; text: string } | { kind: 'too-large'; bytes: number };

/** Why a plan file could not be read at all: a usage error (exit 2), not an invalid plan. */
export interface SourceError {
  kind: 'not-found' | 'is-directory' | 'unreadable';
  message: string;
}

/** Reads a plan file, refusing anything over MAX_PLAN_BYTES after reading at most one byte more. */
export async function readPlanSource(path: string): Promise<Result<SourceText, SourceError>> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    return err(describeOpenError(path, error));
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) {
      return err({ kind: 'is-directory', message: `${path} is a directory, not a plan file` });
    }
    if (stat.size > MAX_PLAN_BYTES) return ok({ kind: 'too-large', bytes: stat.size });
    // Read in chunks up to the limit: special files report size 0 and may hold anything.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(Math.min(1 << 20, MAX_PLAN_BYTES + 1 - total));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > MAX_PLAN_BYTES) return ok({ kind: 'too-large', bytes: total });
    }
    return ok({ kind: 'text', text: decode(Buffer.concat(chunks, total)) });
  } catch (error) {
    return err(describeOpenError(path, error));
  } finally {
    await handle.close();
  }
}

function describeOpenError(path: string, error: unknown): SourceError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return { kind: 'not-found', message: `${path}: no such file` };
    case 'EISDIR':
      return { kind: 'is-directory', message: `${path} is a directory, not a plan file` };
    case 'EACCES':
    case 'EPERM':
      return { kind: 'unreadable', message: `${path}: permission denied` };
    default:
      return { kind: 'unreadable', message: `${path}: cannot read (${code ?? String(error)})` };
  }
}

/** Bytes that are not UTF-8 text are kept as U+FFFD so that the YAML layer can point at them. */
function decode(bytes: Buffer): string {
  const text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false }).decode(bytes);
  return text;
}
