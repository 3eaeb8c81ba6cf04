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
}

export function processIo(): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    stdin: process.stdin,
  };
}
