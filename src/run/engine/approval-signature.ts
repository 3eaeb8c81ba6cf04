import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { APPROVAL_NAMESPACE } from '../state/approvals-inbox.js';

/**
 * OpenSSH signatures of approvals (SPEC section 9), by the system's ssh-keygen: the same tool and
 * key files people already use for git commits, and nothing of restore's own to trust.
 */

/** What ssh-keygen said, in one line: its last line of stderr. */
function said(stderr: string, fallback: string): string {
  return stderr.trim().split('\n').at(-1)?.trim() || fallback;
}

/** Signs `data` with the private key in `keyFile`: the armored signature, or why not. */
export async function signApproval(
  keyFile: string,
  data: string,
): Promise<{ ok: true; signature: string } | { ok: false; reason: string }> {
  const result = await execa('ssh-keygen', ['-Y', 'sign', '-f', keyFile, '-n', APPROVAL_NAMESPACE], {
    input: data,
    reject: false,
  });
  if (result.failed || !result.stdout.includes('BEGIN SSH SIGNATURE'))
    return {
      ok: false,
      reason: said(String(result.stderr ?? ''), result.shortMessage ?? 'ssh-keygen failed'),
    };
  return { ok: true, signature: `${result.stdout.trim()}\n` };
}

/**
 * Whether `signature` is `signer`'s over `data` in the approval namespace, by the keys of an
 * allowed_signers file (`ssh-keygen -Y verify`); with ssh-keygen's reason when it is not.
 */
export async function verifyApproval(
  allowedSigners: string,
  signer: string,
  data: string,
  signature: string,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  // ssh-keygen reads the signature from a file and the data from stdin.
  const dir = mkdtempSync(join(tmpdir(), 'restore-approval-'));
  try {
    const file = join(dir, 'approval.sig');
    writeFileSync(file, signature, { mode: 0o600 });
    const result = await execa(
      'ssh-keygen',
      ['-Y', 'verify', '-f', allowedSigners, '-I', signer, '-n', APPROVAL_NAMESPACE, '-s', file],
      { input: data, reject: false },
    );
    if (result.exitCode === 0) return { ok: true };
    return { ok: false, reason: said(String(result.stderr ?? ''), 'the signature does not verify') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
