/**
 * Where a command writes. Commands receive this rather than touching `process`, so that output
 * is testable and nothing prints by accident (the linter forbids `console`).
 */
export interface Io {
  stdout: Output;
  stderr: Output;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdin: NodeJS.ReadStream;
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

export function processIo(): Io {
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
