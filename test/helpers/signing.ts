import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A release key made with the real `ssh-keygen` in a test's directory: an allowed_signers file
 * that trusts it for `identity` (namespace "file"), and a way to sign files with it.
 */
export function releaseKey(dir: string, identity = 'release@example.com', name = 'release') {
  const key = join(dir, `${name}.key`);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', identity, '-f', key]);
  const allowedSigners = join(dir, `${name}.allowed_signers`);
  const publicKey = readFileSync(`${key}.pub`, 'utf8').trim();
  writeFileSync(allowedSigners, `${identity} namespaces="file" ${publicKey}\n`);
  return {
    identity,
    allowedSigners,
    /** Writes `<file>.sig` (or `signature`), signed in `namespace`. */
    sign(file: string, namespace = 'file'): string {
      execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-f', key, '-n', namespace, file], { stdio: 'ignore' });
      return `${file}.sig`;
    },
  };
}
