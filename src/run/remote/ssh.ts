import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatCommand } from '../../plan/command-text.js';
import { expandHome, reusesConnections } from '../../plan/hosts.js';
import type { ResolvedCommand, ResolvedHost } from '../../plan/model.js';
import type { CommandSpec } from '../executor/types.js';
import { END_MARKER, remoteCommandLine } from './script.js';

/** How long an idle shared connection stays up; it is closed at the end of a run anyway. */
const PERSIST = '60s';
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
      argv: ['ssh', ...this.argv(host), remoteCommandLine(script)],
      shell: false,
      cwd: localDir,
      env: {},
      timeoutMs,
      input: script,
      ...(watched ? { endInputOn: END_MARKER } : {}),
    };
  }

  /** Closes the shared connections this run opened (`ssh -O exit`); never fails. */
  async close(): Promise<void> {
    const closing = [...this.#used].map((name) => {
      const host = this.host(name);
      return new Promise<void>((resolve) => {
        const args = ['-o', `ControlPath=${this.socket(host)}`, '-O', 'exit', '--', host.address];
        const child = spawn('ssh', args, { stdio: 'ignore' });
        child.once('error', () => resolve());
        child.once('exit', () => resolve());
      });
    });
    this.#used.clear();
    await Promise.all(closing);
  }

  /**
   * The connection socket of a host: in the control directory (`<plan state>/ssh`), unless that
   * path is too long for a unix socket; then in a private directory under the system's temporary
   * directory, named after it. Either directory is created 0700.
   */
  private socket(host: ResolvedHost): string {
    let dir = this.controlDir;
    // While it binds, ssh adds a suffix of 17 characters to the path.
    if (join(dir, host.name).length + 17 > MAX_SOCKET_PATH) {
      const tag = createHash('sha256').update(dir).digest('hex').slice(0, 12);
      dir = join(tmpdir(), `restore-ssh-${process.getuid?.() ?? 0}-${tag}`);
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return join(dir, host.name);
  }
}

/** A command of a service on a host: as the plan wrote it, plus the host, for people. */
export function remoteDisplay(command: Pick<ResolvedCommand, 'argv' | 'shell'>, host: ResolvedHost): string {
  return `${formatCommand(command)} (on ${host.name})`;
}
