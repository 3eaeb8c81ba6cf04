import { Redactor } from '../run/redact.js';

/** The process's streams and surroundings, before any redaction. */
export interface Streams {
  stdout: Output;
  stderr: Output;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdin: NodeJS.ReadStream;
}

/**
 * Where a command writes. Commands receive this rather than touching `process`, so that output
 * is testable and nothing prints by accident (the linter forbids `console`). Everything written
 * to `stdout` and `stderr` goes through `redactor` first (SPEC section 5): a printer cannot
 * forget to redact, because there is no other way out.
 */
export interface Io extends Streams {
  /** Hides these values in everything the command writes from now on: a plan's secrets, once read. */
  hide(values: readonly string[]): void;
  /**
   * The values hidden so far. Renderers redact the data they format with it too, since escaping
   * (JSON, shell quoting, Markdown) can change a secret into text that no longer contains it.
   */
  readonly redactor: Redactor;
}

export interface Output {
  write(text: string): void;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  /**
   * Its reader went away (a closed pipe, a terminal that hung up): from now on writes are
   * dropped. What a command must keep is in its journal and run log, never only here.
   */
  readonly closed?: boolean;
  /** Stops writing to it (a hang-up: the terminal is gone). */
  close?(): void;
  /** Called once when it closes, with why (`EPIPE`, `EIO`, `SIGHUP`...). */
  onClose?(listener: (cause: string) => void): () => void;
}

export function processStreams(): Streams {
  // Reading a terminal that hung up fails with EIO: a prompt then gets no answer (see
  // surviveHangup), which must not end restore with an unhandled error.
  process.stdin.on('error', () => {});
  return {
    stdout: guarded(process.stdout),
    stderr: guarded(process.stderr),
    env: process.env,
    cwd: process.cwd(),
    stdin: process.stdin,
  };
}

/** The Io a command receives: its outputs redact every write with the values hidden so far. */
export function redactingIo(streams: Streams): Io {
  let redactor = new Redactor([]);
  const guard = <T extends Output>(output: T): T =>
    // A proxy rather than a new object: all the output offers besides `write` (its size, `closed`,
    // `onClose`, a stream's events for the terminal view) stays as it is; only writes change.
    new Proxy(output, {
      get(target, key) {
        if (key === 'write') {
          return (chunk: unknown, ...rest: unknown[]) =>
            (target.write as (...args: unknown[]) => unknown).call(
              target,
              redactor.active ? redactChunk(chunk, redactor) : chunk,
              ...rest,
            );
        }
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return {
    ...streams,
    stdout: guard(streams.stdout),
    stderr: guard(streams.stderr),
    hide(values) {
      redactor = redactor.with(values);
    },
    get redactor() {
      return redactor;
    },
  };
}

function redactChunk(chunk: unknown, redactor: Redactor): unknown {
  if (typeof chunk === 'string') return redactor.text(chunk);
  if (chunk instanceof Uint8Array) return redactor.text(Buffer.from(chunk).toString('utf8'));
  return chunk;
}

/**
 * An output that outlives its reader (SPEC section 4, step 10): an error writing to it (EPIPE
 * from `| head`, EIO from a closed terminal) closes it quietly instead of ending restore, and
 * later writes are dropped. Nothing of a run depends on being read.
 */
export function guarded(stream: NodeJS.WriteStream): Output {
  let closed = false;
  const listeners = new Set<(cause: string) => void>();
  const close = (cause: string) => {
    if (closed) return;
    closed = true;
    for (const listener of listeners) listener(cause);
    listeners.clear();
  };
  // Every write error ends this output, whatever its code: a restoration must not stop for it.
  stream.on('error', (error: NodeJS.ErrnoException) => close(error.code ?? 'error'));
  return {
    write(text) {
      if (closed || stream.destroyed) return;
      try {
        stream.write(text);
      } catch (error) {
        close((error as NodeJS.ErrnoException).code ?? 'error');
      }
    },
    get isTTY() {
      return stream.isTTY === true;
    },
    get columns() {
      return stream.columns;
    },
    get rows() {
      return stream.rows;
    },
    get closed() {
      return closed;
    },
    close: () => close('SIGHUP'),
    onClose(listener) {
      if (closed) return () => {};
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/**
 * Keeps a command going when its terminal hangs up (SIGHUP: the terminal closed, the ssh session
 * dropped, the laptop lid shut): output to the terminal stops, output to files and pipes goes on,
 * and `signal` aborts so that prompts give up (nobody is left to answer them). Without this, Node
 * would end restore on SIGHUP in the middle of a restoration (SPEC section 4, step 10).
 */
export function surviveHangup(io: Io): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onHangup = () => {
    for (const output of [io.stdout, io.stderr]) if (output.isTTY) output.close?.();
    controller.abort('SIGHUP');
  };
  process.on('SIGHUP', onHangup);
  return { signal: controller.signal, dispose: () => process.off('SIGHUP', onHangup) };
}
