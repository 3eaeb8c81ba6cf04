import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, type FileHandle, open, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { formatCommand } from '../../plan/command-text.js';
import type { ResolvedCommand } from '../../plan/model.js';
import { execCheck } from '../probes/exec.js';
import type { CheckResult } from '../probes/types.js';
import { livePidFrom, removePidFile } from '../state/pid-file.js';
import { type PlanState, serviceLog, servicePid } from '../state/state-dir.js';
import type {
  DaemonStop,
  FileDigest,
  FileText,
  Place,
  PlaceClock,
  PlaceRunOptions,
  SignatureCheck,
  SignatureRequest,
  SpawnOptions,
} from './place.js';
import { type SpawnResult, spawnDaemon } from './process/daemon.js';
import { type EscapedProcess, findMarked, markEnv, stopEscaped } from './process/escaped.js';
import type { Launcher } from './process/launch.js';
import { isAlive, terminateGroup } from './process/process-group.js';
import { runCommand } from './process/run-command.js';
import { toSpec } from './process/spec.js';
import type { CommandRecord } from './process/types.js';
import { REMOTE_BAD_FILE, verifySignatureScript } from './ssh/script.js';

/** How often an adopted daemon is looked for on this machine (a signal 0, nearly free). */
const WATCH_MS = 100;

export interface LocalPlaceOptions {
  /** The plan file's directory: relative working directories and paths are its. */
  planDir: string;
  /** Where daemons' pid files and logs are kept; absent for commands that keep no state (plan --live). */
  state?: PlanState;
  /** Secret values: a daemon's log file must not hold them either. */
  secrets: readonly string[];
  /** What starts processes: the spawner helper during apply. */
  launcher: Launcher;
}

/** This machine: commands run as restore's children, in process groups of their own. */
export class LocalPlace implements Place {
  readonly where = 'here';
  readonly tracksMarks = true;
  readonly pidsAreLocal = true;
  readonly watchEveryMs = WATCH_MS;

  constructor(private readonly options: LocalPlaceOptions) {}

  get localDir(): string {
    return this.options.planDir;
  }

  display(command: Pick<ResolvedCommand, 'argv' | 'shell'>): string {
    return formatCommand(command);
  }

  run(
    command: ResolvedCommand,
    boundMs: number | null,
    options: PlaceRunOptions = {},
  ): Promise<CommandRecord> {
    return runCommand(toSpec(command, this.options.planDir, boundMs), {
      ...options,
      launcher: this.options.launcher,
    });
  }

  check(command: ResolvedCommand, timeoutMs: number, signal?: AbortSignal): Promise<CheckResult> {
    return execCheck(toSpec(command, this.options.planDir, timeoutMs), {
      timeoutMs,
      launcher: this.options.launcher,
      ...(signal ? { signal } : {}),
    });
  }

  spawnDaemon(service: string, command: ResolvedCommand, options: SpawnOptions): Promise<SpawnResult> {
    const plain = toSpec(command, this.options.planDir, null);
    const state = this.#state();
    return spawnDaemon(
      { ...plain, env: { ...plain.env, ...markEnv(options.mark) } },
      {
        logFile: serviceLog(state, service),
        pidFile: servicePid(state, service),
        redact: this.options.secrets,
      },
      this.options.launcher,
    );
  }

  async daemonPid(service: string): Promise<number | null> {
    return livePidFrom(servicePid(this.#state(), service)) ?? null;
  }

  async daemonAlive(_service: string, pid: number): Promise<boolean> {
    return isAlive(pid);
  }

  async stopDaemon(service: string, graceMs: number): Promise<DaemonStop> {
    const pidFile = servicePid(this.#state(), service);
    const pid = livePidFrom(pidFile);
    if (pid === undefined) {
      removePidFile(pidFile);
      return { ok: true, running: false, message: 'not running (no live daemon from its pid file)' };
    }
    await terminateGroup(pid, graceMs);
    removePidFile(pidFile);
    return { ok: true, running: true, message: `stopped daemon pid ${pid}` };
  }

  forgetDaemon(service: string): void {
    removePidFile(servicePid(this.#state(), service));
  }

  findMarked(mark: string): EscapedProcess[] {
    return findMarked(mark);
  }

  stopMarked(mark: string, graceMs: number): Promise<EscapedProcess[]> {
    return stopEscaped(mark, graceMs);
  }

  async hashFile(path: string, signal?: AbortSignal): Promise<FileDigest> {
    const file = this.#path(path);
    // Streamed through one buffer, read again and again: an artifact of several GB costs 1 MiB,
    // not its size, and no garbage for the collector to fall behind on (a stream's fresh chunk
    // per read took the process from 57 to 90 MiB while it hashed; bench/integrity.ts).
    let handle: FileHandle | undefined;
    try {
      handle = await open(file, 'r');
      const buffer = Buffer.allocUnsafe(HASH_CHUNK);
      const hash = createHash('sha256');
      for (;;) {
        signal?.throwIfAborted();
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
      }
      return { ok: true, sha256: hash.digest('hex') };
    } catch (error) {
      return { ok: false, message: unreadable(file, error as NodeJS.ErrnoException) };
    } finally {
      await handle?.close();
    }
  }

  async readFile(path: string, maxBytes: number): Promise<FileText> {
    const file = this.#path(path);
    try {
      // Opened once, then looked at: what is read is the file that was measured.
      const handle = await open(file, 'r');
      try {
        const info = await handle.stat();
        if (info.isDirectory()) return { ok: false, message: `${file} is a directory, not a file` };
        if (info.size > maxBytes) return { ok: false, message: `${file} is larger than ${maxBytes} bytes` };
        return { ok: true, text: await handle.readFile('utf8') };
      } finally {
        await handle.close();
      }
    } catch (error) {
      return { ok: false, message: unreadable(file, error as NodeJS.ErrnoException) };
    }
  }

  async verifySignature(request: SignatureRequest, signal?: AbortSignal): Promise<SignatureCheck> {
    // The host's script, run by this machine's /bin/sh from the plan directory: one set of words
    // and answers for both places, and ssh-keygen reads the file from its standard input.
    const said: string[] = [];
    const record = await this.run(
      {
        argv: [verifySignatureScript(request)],
        shell: true,
        cwd: null,
        env: {},
        timeout_ms: null,
        daemon: false,
      },
      SIGNATURE_MS,
      { ...(signal ? { signal } : {}), onLine: (stream, line) => stream === 'stdout' && said.push(line) },
    );
    return signatureAnswer(record, said, request, 'here');
  }

  async hasProgram(program: string): Promise<boolean> {
    if (program.includes('/')) return executable(resolve(this.options.planDir, program));
    const dirs = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
    for (const dir of dirs) if (await executable(join(dir, program))) return true;
    return false;
  }

  async hasDirectory(path: string): Promise<boolean> {
    const dir = isAbsolute(path) ? path : resolve(this.options.planDir, path);
    try {
      if (!(await stat(dir)).isDirectory()) return false;
      // A directory the user cannot search cannot be a command's working directory either.
      await access(dir, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }

  async clock(): Promise<PlaceClock> {
    return { ok: true, epochSeconds: Math.floor(Date.now() / 1000) };
  }

  #path(path: string): string {
    return isAbsolute(path) ? path : resolve(this.options.planDir, path);
  }

  #state(): PlanState {
    const state = this.options.state;
    // Only commands that keep state (apply, down) are given daemons to start or stop: a bug if not.
    if (!state) throw new Error('this command keeps no state for daemons');
    return state;
  }
}

/** What hashFile reads at a time. */
const HASH_CHUNK = 1024 * 1024;

/** How long ssh-keygen may take to check a signature (it hashes the whole file). */
const SIGNATURE_MS = 10 * 60_000;

/** Why a file could not be read, in words rather than an errno. */
function unreadable(file: string, error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT') return `${file}: no such file`;
  if (error.code === 'EISDIR') return `${file} is a directory, not a file`;
  return `cannot read ${file}: ${error.code ?? error.message}`;
}

/**
 * What a signature script's record means, here or on a host: ssh-keygen's `Good "file"
 * signature ...` line when it passed; else the script's own words (a missing file) or
 * ssh-keygen's last line of stderr, with the identity and namespace it was asked about.
 */
export function signatureAnswer(
  record: CommandRecord,
  said: readonly string[],
  request: SignatureRequest,
  where: string,
): SignatureCheck {
  const good = said.find((line) => line.startsWith('Good '));
  if (record.failure === null) return { ok: true, message: good ?? `good signature for ${request.identity}` };
  const last = record.stderr?.at(-1)?.trim();
  if (record.exitCode === REMOTE_BAD_FILE && last) return { ok: false, message: last };
  if (record.failure !== 'exit-non-zero')
    return { ok: false, message: `cannot check the signature ${where}: ${record.message}` };
  return {
    ok: false,
    message: `signature ${request.signature} of ${request.file} is not a good signature by ${JSON.stringify(request.identity)} (namespace ${JSON.stringify(request.namespace)}) in ${request.allowedSigners}${last ? `: ${last}` : ''}`,
  };
}

/** Whether `file` is a regular file this user may execute. */
async function executable(file: string): Promise<boolean> {
  try {
    if (!(await stat(file)).isFile()) return false;
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
