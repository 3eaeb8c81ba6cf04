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
}

export function processStreams(): Streams {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    stdin: process.stdin,
  };
}

/** The Io a command receives: its outputs redact every write with the values hidden so far. */
export function redactingIo(streams: Streams): Io {
  let redactor = new Redactor([]);
  const guard = <T extends Output>(output: T): T =>
    // A proxy rather than a wrapper object: the terminal view (log-update) needs the stream itself
    // (its size, its resize events), and its writes are redacted like every other.
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
