import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { formatCommand } from '../../../plan/command-text.js';
import { expandHome, reusesConnections } from '../../../plan/hosts.js';
import type { ResolvedCommand, ResolvedHost } from '../../../plan/model.js';
import type { CommandSpec } from '../process/types.js';
import { END_MARKER, framed, REMOTE_COMMAND_LINE, readEndMarker } from './script.js';

/** How long an idle shared connection stays up; it is closed at the end of a run anyway. */
const PERSIST = '60s';
/** How often a command waiting for its host's shared connection looks for the socket. */
const POLL_MS = 10;
/** The longest a command waits for another to open its host's shared connection. */
const MAX_WAIT_MS = 10_000;

/** A command's turn on a host: how long it waited, and `done` to call when it has ended. */
export interface Turn {
  waitedMs: number;
  done(): void;
}

/** A unix socket path longer than this does not fit in sockaddr_un on every system (104 on BSD). */
const MAX_SOCKET_PATH = 100;

/**
 * The system's OpenSSH client, one way for every remote command (SPEC section 6): never through
 * a shell on this side, `BatchMode=yes` (nobody is there to type a password), no terminal, and
 * one shared connection per host (ControlMaster) with its socket under the state directory,
 * closed at the end of the run.
 */
export class SshHosts {
  readonly #used = new Set<string>();
  /** Hosts whose shared connection is being opened, by the first command sent there. */
  readonly #opening = new Map<string, Promise<void>>();
  /** Hosts whose shared connection is known to be up. */
  readonly #open = new Set<string>();
  /** Socket path of each host, its directory created on first use. */
  readonly #sockets = new Map<string, string>();

  /** `controlDir`: where the connection sockets live (created 0700 on first use). */
  constructor(
    private readonly hosts: Readonly<Record<string, ResolvedHost>>,
    private readonly controlDir: string,
  ) {}

  host(name: string): ResolvedHost {
    const host = this.hosts[name];
    if (!host) throw new Error(`unknown host ${name}`); // the plan was validated: a bug
    return host;
  }

  /**
   * Waits, when another command is opening the host's shared connection, until it is up (its
   * socket exists) or that command has ended, so that commands started together do not each
   * open a connection of their own: one handshake per host instead of one per slot. A waiter
   * waits at most half of `budgetMs` (its deadline), and stops waiting on `signal`; the caller
   * takes `waitedMs` off its deadline. `done` ends the turn of the command that opens.
   */
  async turn(host: ResolvedHost, budgetMs: number | null, signal?: AbortSignal): Promise<Turn> {
    const none: Turn = { waitedMs: 0, done: () => {} };
    if (!reusesConnections(host) || this.#open.has(host.name)) return none;
    const socket = this.socket(host);
    const opening = this.#opening.get(host.name);
    if (opening === undefined) {
      let finish = () => {};
      this.#opening.set(
        host.name,
        new Promise<void>((resolve) => {
          finish = resolve;
        }),
      );
      const done = () => {
        if (this.#opening.get(host.name) === undefined) return;
        this.#opening.delete(host.name);
        if (existsSync(socket)) this.#open.add(host.name);
        finish();
      };
      return { waitedMs: 0, done };
    }
    const started = Date.now();
    const limit = Math.min(MAX_WAIT_MS, budgetMs === null ? MAX_WAIT_MS : budgetMs / 2);
    let timer: NodeJS.Timeout | undefined;
    let onAbort = () => {};
    await Promise.race([
      opening,
      new Promise<void>((resolve) => {
        const look = () => {
          if (existsSync(socket) || Date.now() - started >= limit) resolve();
          else timer = setTimeout(look, POLL_MS);
        };
        look();
      }),
      new Promise<void>((resolve) => {
        onAbort = resolve;
        if (signal?.aborted) resolve();
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    return { waitedMs: Date.now() - started, done: () => {} };
  }

  /** ssh's argv up to and including the destination. */
  argv(host: ResolvedHost): string[] {
    const args = ['-T', '-o', 'BatchMode=yes'];
    if (reusesConnections(host)) {
      this.#used.add(host.name);
      args.push(
        '-o',
        'ControlMaster=auto',
        '-o',
        `ControlPath=${this.socket(host)}`,
        '-o',
        `ControlPersist=${PERSIST}`,
      );
    }
    args.push('-p', String(host.port));
    if (host.user !== null) args.push('-l', host.user);
    if (host.identity_file !== null) args.push('-i', expandHome(host.identity_file));
    for (const [key, value] of Object.entries(host.ssh_options)) args.push('-o', `${key}=${value}`);
    args.push('--', host.address);
    return args;
  }

  /**
   * The local `ssh` process that runs `script` on the host. The script goes to the remote shell
   * on standard input, so neither arguments nor environment values (secrets among them) show in
   * this machine's process list, and quoting is the remote shell's, done once (script.ts).
   */
  spec(
    host: ResolvedHost,
    script: string,
    localDir: string,
    timeoutMs: number | null,
    /** A script with a watcher (runScript, daemonScript): its input stays open until it ends. */
    watched = true,
  ): CommandSpec {
    return {
      argv: ['ssh', ...this.argv(host), REMOTE_COMMAND_LINE],
      shell: false,
      cwd: localDir,
      env: {},
      timeoutMs,
      conversation: watched
        ? { input: framed(script, true), endInputOn: END_MARKER, read: readEndMarker }
        : { input: framed(script, false), read: (line) => ({ output: line }) },
    };
  }

  /** Closes the shared connections this run opened (`ssh -O exit`); never fails. */
  async close(): Promise<void> {
    // Each runs up to its first await here, before the sockets are forgotten below.
    const closing = [...this.#used].map(async (name) => {
      const host = this.host(name);
      const args = ['-o', `ControlPath=${this.socket(host)}`, '-O', 'exit', '--', host.address];
      try {
        // It failing changes nothing: the run is over, and a connection left open ends after
        // PERSIST. Not `cleanup`: that would hook restore's signals for a request this brief.
        await execa('ssh', args, { stdio: 'ignore', buffer: false, reject: false, cleanup: false });
      } catch {
        // execa refused to start it (no working directory left): as above.
      }
    });
    this.#used.clear();
    this.#open.clear();
    this.#sockets.clear();
    await Promise.all(closing);
  }

  /**
   * The connection socket of a host: in the control directory (`<plan state>/ssh`), unless that
   * path is too long for a unix socket; then in a private directory under the system's temporary
   * directory, named after it. Either directory is created 0700.
   */
  private socket(host: ResolvedHost): string {
    const known = this.#sockets.get(host.name);
    if (known !== undefined) return known;
    let dir = this.controlDir;
    // While it binds, ssh adds a suffix of 17 characters to the path.
    if (join(dir, host.name).length + 17 > MAX_SOCKET_PATH) {
      const tag = createHash('sha256').update(dir).digest('hex').slice(0, 12);
      dir = join(tmpdir(), `restore-ssh-${process.getuid?.() ?? 0}-${tag}`);
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const socket = join(dir, host.name);
    this.#sockets.set(host.name, socket);
    return socket;
  }
}

/** A command of a service on a host: as the plan wrote it, plus the host, for people. */
export function remoteDisplay(command: Pick<ResolvedCommand, 'argv' | 'shell'>, host: ResolvedHost): string {
  return `${formatCommand(command)} (on ${host.name})`;
}
