import { homedir } from 'node:os';
import { closest } from '../util/closest.js';
import type { PathSegment } from './locate.js';
import { BUILTIN, type ResolvedHost } from './model.js';
import type { RawHost } from './schema.js';

/** Reports a problem at a data path (see resolve.ts). */
type HostReport = (
  path: readonly PathSegment[],
  code: 'invalid-value' | 'unknown-key',
  message: string,
  hint?: string,
  key?: boolean,
) => void;

/**
 * The `ssh_config` keywords of OpenSSH 9 a plan may pass as `-o Key=Value`. ssh matches them
 * without regard to case; a plan is checked against this list so that a typo is a validation
 * error with a suggestion, not an ssh failure in the middle of a restoration.
 */
export const SSH_OPTIONS = [
  'AddKeysToAgent',
  'AddressFamily',
  'BindAddress',
  'BindInterface',
  'CanonicalDomains',
  'CanonicalizeFallbackLocal',
  'CanonicalizeHostname',
  'CanonicalizeMaxDots',
  'CanonicalizePermittedCNAMEs',
  'CASignatureAlgorithms',
  'CertificateFile',
  'CheckHostIP',
  'Ciphers',
  'Compression',
  'ConnectionAttempts',
  'ConnectTimeout',
  'ControlMaster',
  'EnableEscapeCommandline',
  'EnableSSHKeysign',
  'FingerprintHash',
  'ForwardAgent',
  'GlobalKnownHostsFile',
  'GSSAPIAuthentication',
  'GSSAPIDelegateCredentials',
  'HashKnownHosts',
  'HostbasedAcceptedAlgorithms',
  'HostbasedAuthentication',
  'HostKeyAlgorithms',
  'HostKeyAlias',
  'IdentitiesOnly',
  'IdentityAgent',
  'IPQoS',
  'KbdInteractiveAuthentication',
  'KexAlgorithms',
  'KnownHostsCommand',
  'LogLevel',
  'LogVerbose',
  'MACs',
  'NoHostAuthenticationForLocalhost',
  'NumberOfPasswordPrompts',
  'PasswordAuthentication',
  'PKCS11Provider',
  'PreferredAuthentications',
  'ProxyCommand',
  'ProxyJump',
  'ProxyUseFdpass',
  'PubkeyAcceptedAlgorithms',
  'PubkeyAuthentication',
  'RekeyLimit',
  'RequiredRSASize',
  'RevokedHostKeys',
  'SecurityKeyProvider',
  'ServerAliveCountMax',
  'ServerAliveInterval',
  'SetEnv',
  'StrictHostKeyChecking',
  'TCPKeepAlive',
  'UpdateHostKeys',
  'UserKnownHostsFile',
  'VerifyHostKeyDNS',
  'VisualHostKey',
  'XAuthLocation',
] as const;

/** Options restore sets itself, and what to write instead. */
const MANAGED: Record<string, string> = {
  batchmode: 'restore always runs ssh with BatchMode=yes: nobody is there to type a password',
  controlpath: 'restore keeps its connections under the state directory',
  controlpersist: 'restore closes its connections at the end of the run',
  hostname: 'write the host name or address as the host\u2019s `address`',
  port: 'write it as the host\u2019s `port`',
  user: 'write it as the host\u2019s `user`',
  identityfile: 'write it as the host\u2019s `identity_file`',
  requesttty: 'restore runs remote commands without a terminal',
  remotecommand: 'restore sends the commands of the plan',
  localcommand: 'restore runs nothing on this side through a shell',
  permitlocalcommand: 'restore runs nothing on this side through a shell',
};

const KNOWN = new Map(SSH_OPTIONS.map((name) => [name.toLowerCase(), name]));

// A name or address ssh takes as a host, never as an option (no leading `-`), with no spaces.
const ADDRESS = /^[A-Za-z0-9_.:[\]%][A-Za-z0-9_.:[\]%-]*$/;
const USER = /^[A-Za-z0-9_.][A-Za-z0-9_.@-]*$/;

/**
 * A host as far as it could be read: in an invalid plan a field that fails the schema is left
 * out, so that the problems of the other fields are still found in the same pass.
 */
export type PartialHost = Partial<RawHost>;

/** The hosts of a plan, checked and resolved; `text` substitutes variables. */
export function resolveHosts(
  raw: Record<string, PartialHost>,
  text: (path: readonly PathSegment[], value: string) => string,
  report: HostReport,
): Record<string, ResolvedHost> {
  const hosts: Record<string, ResolvedHost> = {};
  for (const [name, host] of Object.entries(raw)) {
    const base = ['hosts', name];
    // A missing or malformed address was reported by the schema.
    const address = host.address === undefined ? '' : text([...base, 'address'], host.address);
    if (host.address !== undefined && !ADDRESS.test(address)) {
      report(
        [...base, 'address'],
        'invalid-value',
        `${JSON.stringify(address)} is not a host name or address`,
        'for example "db-1.internal" or "10.0.0.5"; it may not start with "-" or hold spaces',
      );
    }
    const user = host.user === undefined ? null : text([...base, 'user'], host.user);
    if (user !== null && !USER.test(user)) {
      report([...base, 'user'], 'invalid-value', `${JSON.stringify(user)} is not a user name`);
    }
    const identity =
      host.identity_file === undefined ? null : text([...base, 'identity_file'], host.identity_file);
    hosts[name] = {
      name,
      address,
      user,
      port: host.port ?? BUILTIN.sshPort,
      identity_file: identity,
      concurrency: host.concurrency ?? null,
      ssh_options: sshOptions(base, host.ssh_options ?? {}, text, report),
    };
  }
  return hosts;
}

function sshOptions(
  base: readonly PathSegment[],
  written: Record<string, string | number | boolean>,
  text: (path: readonly PathSegment[], value: string) => string,
  report: HostReport,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, raw] of Object.entries(written)) {
    const path = [...base, 'ssh_options', key];
    const lower = key.toLowerCase();
    const managed = MANAGED[lower];
    const known = KNOWN.get(lower);
    const value = typeof raw === 'boolean' ? (raw ? 'yes' : 'no') : text(path, String(raw));
    if (managed) {
      report(path, 'invalid-value', `ssh option ${key} cannot be set in a plan`, managed, true);
    } else if (!known) {
      const guess = closest(key, SSH_OPTIONS);
      report(
        path,
        'unknown-key',
        `${key} is not an ssh option`,
        guess ? `did you mean "${guess}"?` : 'see `man ssh_config` for the options ssh knows',
        true,
      );
    } else if (known === 'ControlMaster' && value !== 'no') {
      report(
        path,
        'invalid-value',
        'ControlMaster can only be turned off here ("no"); restore reuses connections by default',
      );
    } else if (value === '' || hasControlCharacter(value)) {
      report(path, 'invalid-value', `ssh option ${key} needs a value on one line`);
    } else {
      out[known] = value;
    }
  }
  return out;
}

/** `~` and `~/...` against the home directory of the user running restore. */
export function expandHome(path: string): string {
  if (path === '~') return homedir();
  return path.startsWith('~/') ? `${homedir()}${path.slice(1)}` : path;
}

/** Whether connections to this host are reused (the default), or each command opens its own. */
export function reusesConnections(host: ResolvedHost): boolean {
  return host.ssh_options.ControlMaster !== 'no';
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
