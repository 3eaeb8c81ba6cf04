import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/restore.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  /** A command that runs the CLI, such as setpriv with its flags. */
  prefix?: string[];
  timeoutMs?: number;
}

/** Runs the real `bin/restore.js` as a user would, in a child process, and collects its output. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return spawnCli(args, options).done;
}

/** Starts the real CLI and returns the child (to signal it) and its eventual result. */
export function spawnCli(
  args: readonly string[],
  options: CliOptions = {},
): { child: ChildProcess; done: Promise<CliResult> } {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined };
  for (const [key, value] of Object.entries(options.env ?? {})) env[key] = value;
  const [command, ...rest] = [...(options.prefix ?? []), process.execPath, BIN, ...args] as [
    string,
    ...string[],
  ];
  const child = spawn(command, rest, {
    cwd: options.cwd ?? ROOT,
    env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  child.stdin!.end(options.input ?? '');
  return { child, done };
}

/** A stack trace in output means a crash leaked to the user. */
export function hasStackTrace(text: string): boolean {
  return /\n\s+at .+:\d+:\d+\)?/.test(text) || /\bat (async )?[\w.<>]+ \(/.test(text);
}

/** Resolves once the child's standard output (or error, with `stream`) has shown `text`. */
export function whenOutput(
  child: ChildProcess,
  text: string | RegExp,
  stream: 'stdout' | 'stderr' = 'stdout',
): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const source = child[stream]!;
    const onData = (chunk: Buffer | string) => {
      seen += chunk.toString();
      if (typeof text === 'string' ? seen.includes(text) : text.test(seen)) {
        source.off('data', onData);
        resolve();
      }
    };
    source.on('data', onData);
    child.once('close', () => reject(new Error(`exited before its ${stream} showed ${String(text)}`)));
  });
}
