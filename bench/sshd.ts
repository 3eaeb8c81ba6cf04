import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { portOpen } from './processes.js';

/**
 * A real OpenSSH server on 127.0.0.1 for the end-to-end tests and the benchmarks (SPEC section 6): its own port,
 * host key, user key and known_hosts, all in a temporary directory; no mock of ssh anywhere.
 */
export interface Sshd {
  port: number;
  /** The user restore logs in as. */
  user: string;
  /** The user's private key, and its known_hosts holding this server's host key. */
  identity: string;
  knownHosts: string;
  /** The temporary directory (readable by `user`). */
  dir: string;
  /** A `hosts:` entry of a plan for this server. */
  host(extra?: Record<string, unknown>): Record<string, unknown>;
  /** Generates another key pair (not authorized here) and returns the private key's path. */
  otherKey(name: string): string;
  stop(): Promise<void>;
}

/** The unprivileged login of the tests when they run as root: a plain /bin/sh, no profile. */
export const TEST_USER = 'restore-e2e';

const SSHD_CANDIDATES = ['/usr/sbin/sshd', '/usr/local/sbin/sshd', '/sbin/sshd'];

/**
 * As root, the tests log in as TEST_USER (created on first use): root's own shell profile may be
 * slow or noisy, and services on a real host run as a service account. Otherwise, as oneself
 * (sshd run by a user can only log that user in).
 */
export function loginUser(): string {
  if (process.getuid?.() !== 0) return userInfo().username;
  try {
    execFileSync('id', ['-u', TEST_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', TEST_USER], { stdio: 'inherit' });
  }
  // A locked account ("!" for a password) is refused by sshd without PAM; "*" only rules out passwords.
  execFileSync('usermod', ['-p', '*', TEST_USER], { stdio: 'ignore' });
  return TEST_USER;
}

export async function startSshd(): Promise<Sshd> {
  const sshd = SSHD_CANDIDATES.find((path) => existsSync(path));
  if (!sshd) throw new Error('sshd not found: install openssh-server (.ci/run does)');
  const user = loginUser();
  const dir = mkdtempSync(join(tmpdir(), 'restore-sshd-'));
  // sshd reads authorized_keys as the user logging in.
  chmodSync(dir, 0o755);
  const keygen = (name: string) => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(dir, name)]);
    return join(dir, name);
  };
  const hostKey = keygen('host_key');
  const identity = keygen('user_key');
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(`${identity}.pub`));
  chmodSync(authorized, 0o644);
  const port = await freePort();
  const knownHosts = join(dir, 'known_hosts');
  const hostPub = readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPub}\n`);
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorized}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'MaxSessions 200',
      'MaxStartups 200:30:400',
      'PrintMotd no',
      'PrintLastLog no',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  // Its log goes to a file, not a pipe: a benchmark blocked in spawnSync would not drain a pipe,
  // and sshd would stop, mid-handshake, once the pipe was full.
  const logFile = join(dir, 'sshd.log');
  const child: ChildProcess = spawn(sshd, ['-D', '-E', logFile, '-f', config], { stdio: 'ignore' });
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(port, () => child.exitCode !== null, log);

  return {
    port,
    user,
    identity,
    knownHosts,
    dir,
    host: (extra = {}) => ({
      address: '127.0.0.1',
      port,
      user,
      identity_file: identity,
      ssh_options: { UserKnownHostsFile: knownHosts, StrictHostKeyChecking: 'yes' },
      ...extra,
    }),
    otherKey: (name) => keygen(name),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, gone: () => boolean, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (gone()) throw new Error(`sshd exited at start:\n${log()}`);
    if (await portOpen(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`sshd did not listen on ${port}:\n${log()}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
