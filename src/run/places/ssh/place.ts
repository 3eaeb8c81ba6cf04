import type { ResolvedCommand } from '../../../plan/model.js';
import { execCheck } from '../../probes/exec.js';
import type { CheckResult } from '../../probes/types.js';
import { signatureAnswer } from '../local.js';
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
} from '../place.js';
import type { SpawnResult } from '../process/daemon.js';
import type { EscapedProcess } from '../process/escaped.js';
import { KILL_GRACE_MS } from '../process/run-command.js';
import type { CommandRecord } from '../process/types.js';
import { callHost, remoteDaemonPid, spawnRemoteDaemon, stopRemoteDaemon } from './daemon.js';
import { commandBudget, explainRemote, inTurn, type RemoteTarget, remoteSpec, runRemote } from './run.js';
import {
  clockScript,
  hasDirectoryScript,
  hashFileScript,
  hasProgramScript,
  REMOTE_BAD_FILE,
  REMOTE_NO_HASHER,
  readFileScript,
  verifySignatureScript,
} from './script.js';
import { remoteDisplay } from './ssh.js';

/** How often an adopted daemon is looked for on a host: each look is an ssh command. */
const WATCH_MS = 1000;
/** How long restore's own short scripts (a hash, a lookup) may take on a host. */
const CALL_MS = 30_000;
/** A multi-GB artifact takes a while to hash on a slow disk. */
const HASH_MS = 10 * 60_000;

/**
 * A host of the plan, reached with the system's OpenSSH client (SPEC section 6): every command
 * is a POSIX sh script sent on ssh's standard input (script.ts), daemons keep their log and pid
 * file under `~/.restore/<plan>/services/` there, and a command's process group is what is
 * stopped (processes are not tracked by mark on a host).
 */
export class SshPlace implements Place {
  readonly tracksMarks = false;
  readonly pidsAreLocal = false;
  readonly watchEveryMs = WATCH_MS;
  readonly where: string;

  constructor(
    private readonly target: RemoteTarget,
    /** The plan's name (the host keeps the daemons' files under it) and its secret values. */
    private readonly names: { plan: string; secrets: readonly string[] },
  ) {
    this.where = `host ${target.host.name}`;
  }

  get localDir(): string {
    return this.target.localDir;
  }

  display(command: Pick<ResolvedCommand, 'argv' | 'shell'>): string {
    return remoteDisplay(command, this.target.host);
  }

  run(
    command: ResolvedCommand,
    boundMs: number | null,
    options: PlaceRunOptions = {},
  ): Promise<CommandRecord> {
    const { mark: _notTracked, ...rest } = options;
    return runRemote(command, this.target, boundMs, rest);
  }

  check(command: ResolvedCommand, timeoutMs: number, signal?: AbortSignal): Promise<CheckResult> {
    const target = this.target;
    return inTurn(target, commandBudget(command, timeoutMs), signal, (budgetMs) =>
      execCheck(remoteSpec(command, target, budgetMs), {
        timeoutMs: budgetMs ?? timeoutMs,
        launcher: target.launcher,
        ...(signal ? { signal } : {}),
        display: this.display(command),
        // ssh's own failure, or the host's shell's (not found, not executable), in plain words.
        explain: (record, lastLine) =>
          record.exitCode === 255 || record.exitCode === 127 || record.exitCode === 126
            ? explainRemote(record, lastLine, command, target.host)
            : undefined,
      }),
    );
  }

  async spawnDaemon(service: string, command: ResolvedCommand, options: SpawnOptions): Promise<SpawnResult> {
    const names = { plan: this.names.plan, service };
    const spawned = await spawnRemoteDaemon(
      command,
      this.target,
      { ...names, secrets: this.names.secrets },
      Math.max(1, options.deadline - Date.now()),
      options.signal,
    );
    // The host may have started it before restore heard its pid.
    if (!spawned.ok && spawned.record.failure === 'interrupted')
      await stopRemoteDaemon(this.target, names, KILL_GRACE_MS);
    return spawned;
  }

  daemonPid(service: string): Promise<number | null | undefined> {
    return remoteDaemonPid(this.target, { plan: this.names.plan, service });
  }

  async daemonAlive(service: string, pid: number): Promise<boolean> {
    const now = await this.daemonPid(service);
    // An unreachable host says nothing: the daemon is taken to run until its checks say otherwise.
    return now === undefined || now === pid;
  }

  stopDaemon(service: string, graceMs: number): Promise<DaemonStop> {
    return stopRemoteDaemon(this.target, { plan: this.names.plan, service }, graceMs);
  }

  forgetDaemon(): void {
    // The stop script removes the pid file on the host when it stops the daemon itself; after a
    // stop command, the next look at the pid file finds no live process and removes it then.
  }

  findMarked(): EscapedProcess[] {
    return [];
  }

  async stopMarked(): Promise<EscapedProcess[]> {
    return [];
  }

  async hashFile(path: string, signal?: AbortSignal): Promise<FileDigest> {
    let digest: string | undefined;
    let lastError: string | undefined;
    const record = await callHost(
      this.target,
      hashFileScript(path),
      HASH_MS,
      (stream, line) => {
        if (stream === 'stdout') digest ??= /\b[0-9a-f]{64}\b/.exec(line)?.[0];
        else if (line.trim() !== '') lastError = line.trim();
      },
      signal,
    );
    if (record.failure === null && digest !== undefined) return { ok: true, sha256: digest };
    const on = this.target.host.name;
    if (record.exitCode === REMOTE_NO_HASHER)
      return { ok: false, message: `cannot hash ${path} on ${on}: ${lastError}` };
    if (record.exitCode === 255) return { ok: false, message: lastError ?? `ssh to ${on} failed` };
    // Missing, or a directory: the script's own words.
    if (record.exitCode === REMOTE_BAD_FILE && lastError) return { ok: false, message: lastError };
    if (record.failure === 'exit-non-zero') return { ok: false, message: `cannot read ${path} on ${on}` };
    return { ok: false, message: `cannot hash ${path} on ${on}: ${record.message}` };
  }

  async readFile(path: string, maxBytes: number, signal?: AbortSignal): Promise<FileText> {
    const lines: string[] = [];
    let lastError: string | undefined;
    const record = await callHost(
      this.target,
      readFileScript(path, maxBytes),
      CALL_MS,
      (stream, line) => {
        if (stream === 'stdout') lines.push(line);
        else if (line.trim() !== '') lastError = line.trim();
      },
      signal,
    );
    if (record.failure === null) return { ok: true, text: lines.map((line) => `${line}\n`).join('') };
    const on = this.target.host.name;
    if (record.exitCode === REMOTE_BAD_FILE && lastError) return { ok: false, message: lastError };
    if (record.exitCode === 255) return { ok: false, message: lastError ?? `ssh to ${on} failed` };
    return { ok: false, message: `cannot read ${path} on ${on}: ${record.message}` };
  }

  async verifySignature(request: SignatureRequest, signal?: AbortSignal): Promise<SignatureCheck> {
    const said: string[] = [];
    const record = await callHost(
      this.target,
      verifySignatureScript(request),
      HASH_MS,
      (stream, line) => {
        if (stream === 'stdout') said.push(line);
      },
      signal,
    );
    const on = this.target.host.name;
    if (record.exitCode === 255)
      return { ok: false, message: record.stderr?.at(-1) ?? `ssh to ${on} failed` };
    return signatureAnswer(record, said, request, `on ${on}`);
  }

  async hasProgram(program: string, signal?: AbortSignal): Promise<boolean | undefined> {
    const record = await callHost(this.target, hasProgramScript(program), CALL_MS, () => {}, signal);
    if (record.failure === null) return true;
    return record.failure === 'exit-non-zero' && record.exitCode !== 255 ? false : undefined;
  }

  async hasDirectory(path: string, signal?: AbortSignal): Promise<boolean | undefined> {
    const record = await callHost(this.target, hasDirectoryScript(path), CALL_MS, () => {}, signal);
    if (record.failure === null) return true;
    return record.failure === 'exit-non-zero' && record.exitCode !== 255 ? false : undefined;
  }

  async clock(signal?: AbortSignal): Promise<PlaceClock> {
    let said: string | undefined;
    let lastError: string | undefined;
    const record = await callHost(
      this.target,
      clockScript(),
      CALL_MS,
      (stream, line) => {
        if (stream === 'stdout') said ??= line.trim();
        else if (line.trim() !== '') lastError = line.trim();
      },
      signal,
    );
    if (record.failure === null && said !== undefined && /^\d+$/.test(said))
      return { ok: true, epochSeconds: Number(said) };
    const on = this.target.host.name;
    if (record.exitCode === 255) return { ok: false, message: lastError ?? `ssh to ${on} failed` };
    if (record.failure === null)
      return { ok: false, message: `date +%s on ${on} printed ${JSON.stringify(said ?? '')}` };
    return { ok: false, message: `cannot read the clock of ${on}: ${lastError ?? record.message}` };
  }
}
