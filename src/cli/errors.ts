import { EXIT, type ExitCode } from './exit-codes.js';

/**
 * An error that ends a command with a known exit code and a one-line message. Thrown only in
 * the CLI layer and caught in one place (main.ts), which prints it and exits with its code.
 */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

/** A usage error: unknown flag or command, missing or unreadable file (exit 2). */
export class UsageError extends CommandError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}
