import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { verifyApproval } from '../../run/engine/approval-signature.js';
import { canonicalRecord } from '../../run/state/approvals-inbox.js';
import { parseJournal } from '../../run/state/journal/read.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';
import { readNamedFile } from '../named-file.js';
import { readPlan } from './load-or-fail.js';

export interface AuditOptions {
  /** The run's plan, for its allowed_signers; default: the file `run.started` recorded. */
  plan?: string;
}

/** `restore audit verify <journal>`: exit 0 with the line count when the hash chain holds, else 1. */
export async function runAuditVerify(file: string, io: Io, options: AuditOptions = {}): Promise<ExitCode> {
  const read = parseJournal(readNamedFile(file).toString('utf8'));
  if (read.broken) {
    io.stdout.write(`${file}: chain broken at line ${read.broken.line}: ${read.broken.reason}\n`);
    return EXIT.invalid;
  }
  const torn = read.torn ? ' (the last line was cut short by a crash and is not counted)' : '';
  io.stdout.write(`${file}: ${read.lines} lines, hash chain intact${torn}\n`);
  return (await verifySignatures(read, io, options)) ? EXIT.ok : EXIT.invalid;
}

/**
 * SPEC section 9: the signed approvals of the journal, verified again against the plan's
 * allowed_signers, each over the record it was made for (the run's digest and the approval's
 * own fields). One that cannot be checked (no plan, no file) is said, and fails nothing; one that
 * does not verify fails the audit. False when one does not verify.
 */
async function verifySignatures(
  read: ReturnType<typeof parseJournal>,
  io: Io,
  options: AuditOptions,
): Promise<boolean> {
  const started = read.entries.find((entry) => entry.event === 'run.started');
  const signed = read.entries.flatMap((entry) =>
    entry.event === 'stage.approved' && entry.signature !== undefined ? [entry] : [],
  );
  if (!started || signed.length === 0) return true;
  const planFile = options.plan ?? started.file;
  const loaded = await readPlan(planFile, io);
  let ok = true;
  for (const approval of signed) {
    const what = `approval of stage ${approval.stage} by ${approval.approver} (line ${approval.seq})`;
    const rule = loaded.ok
      ? loaded.value.plan.stages.find((s) => s.name === approval.stage)?.approval_rule
      : undefined;
    if (!loaded.ok || !rule?.allowed_signers) {
      io.stdout.write(
        `${what}: signature not checked: ${loaded.ok ? `the plan names no allowed_signers for stage ${approval.stage}` : `cannot read the plan ${planFile} (give it with --plan)`}\n`,
      );
      continue;
    }
    const dir = loaded.value.dir;
    const signers = isAbsolute(rule.allowed_signers)
      ? rule.allowed_signers
      : resolve(dir, rule.allowed_signers);
    let readable = true;
    try {
      readFileSync(signers);
    } catch {
      readable = false;
    }
    if (!readable) {
      io.stdout.write(`${what}: signature not checked: cannot read ${signers}\n`);
      continue;
    }
    const record = canonicalRecord({
      run: approval.run,
      stage: approval.stage,
      digest: started.digest,
      approver: approval.approver,
      time: approval.approved_at ?? '',
      comment: approval.comment ?? null,
    });
    const verdict = await verifyApproval(signers, approval.approver, record, approval.signature!);
    if (verdict.ok) io.stdout.write(`${what}: signature verified\n`);
    else {
      ok = false;
      io.stdout.write(`${what}: signature DOES NOT verify (${verdict.reason})\n`);
    }
  }
  return ok;
}
