import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { ResolvedApproval, ResolvedStage } from '../../plan/model.js';
import { signApproval, verifyApproval } from '../../run/engine/approval-signature.js';
import { loadRun } from '../../run/engine/resume.js';
import {
  canonicalRecord,
  depositApproval,
  type InboxApproval,
  isApproverName,
  readApprovals,
} from '../../run/state/approvals-inbox.js';
import type { RunSnapshot } from '../../run/state/journal/state.js';
import { checkPlanState, planState } from '../../run/state/state-dir.js';
import { UsageError } from '../errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';
import { useStateDir } from '../state-dir.js';
import { loadOrFail } from './load-or-fail.js';

export interface ApproveOptions {
  stage: string;
  as?: string;
  comment?: string;
  signWith?: string;
  /** `--state-dir`; undefined: RESTORE_STATE_DIR, or `.restore` in the plan file's directory. */
  stateDir?: string;
}

/**
 * `restore approve <plan> --stage <name>` (SPEC section 9): one approval, into the inbox of the
 * run that waits for it (src/run/state/approvals-inbox.ts), where `apply` counts it. Everything
 * that would make `apply` not count it is refused here, with exit 2, and nothing is recorded.
 */
export async function runApprove(file: string, options: ApproveOptions, io: Io): Promise<ExitCode> {
  const loaded = await loadOrFail(file, io);
  const stage = gateOf(loaded.plan.stages, options.stage, loaded.plan.name);
  const rule = stage.approval_rule!;
  const name = options.as ?? io.env.USER ?? safeUser();
  if (!isApproverName(name)) {
    throw new UsageError(
      `"${name}" is not a name an approval can be recorded under: letters, digits, _ . @ + -, at most 64 characters`,
    );
  }
  if (rule.from !== null && !rule.from.includes(name)) {
    throw new UsageError(
      `${name} may not approve stage ${stage.name}: only ${rule.from.join(', ')} may (the plan's approval.from)`,
    );
  }
  if (rule.signed && options.signWith === undefined) {
    throw new UsageError(
      `stage ${stage.name} needs a signed approval: give your key with --sign-with KEYFILE`,
    );
  }
  const { dir } = useStateDir(options.stateDir, file, io);
  const state = planState(dir, loaded.plan.name);
  const run = checkPlanState(state, dir) ? loadRun(state) : undefined;
  awaitsGate(run, stage.name, loaded.plan.name);
  if (run.digest !== loaded.digest) {
    throw new UsageError(
      `the plan changed since run ${run.run} started (digest ${run.digest}, now ${loaded.digest}): an approval is for the plan that run applies`,
    );
  }
  if (run.approvals.some((a) => a.stage === stage.name && a.approver === name))
    throw new UsageError(`stage ${stage.name} of run ${run.run} is already approved by ${name}`);

  const record = {
    run: run.run,
    stage: stage.name,
    digest: run.digest,
    approver: name,
    time: new Date().toISOString(),
    comment: options.comment ?? null,
  };
  const signature = await sign(record, rule, options.signWith, loaded.dir);
  if (!depositApproval(state, { ...record, signature }))
    throw new UsageError(`stage ${stage.name} of run ${run.run} is already approved by ${name}`);
  const given = new Set([
    ...run.approvals.filter((a) => a.stage === stage.name).map((a) => a.approver),
    ...readApprovals(state, run.run, stage.name).approvals.map((a) => a.approver),
  ]);
  io.stdout.write(
    `recorded ${signature ? 'signed ' : ''}approval of stage ${stage.name} by ${name} for run ${run.run} ` +
      `(${Math.min(given.size, rule.approvers)} of ${rule.approvers})\n`,
  );
  return EXIT.ok;
}

/** The stage named, if it is one of the plan's and needs an approval. */
function gateOf(stages: readonly ResolvedStage[], name: string, plan: string): ResolvedStage {
  const stage = stages.find((s) => s.name === name);
  if (!stage) {
    const known = stages.filter((s) => s.approval).map((s) => s.name);
    throw new UsageError(
      `plan ${plan} has no stage "${name}"${known.length > 0 ? ` (stages that need approval: ${known.join(', ')})` : ''}`,
    );
  }
  if (!stage.approval_rule) throw new UsageError(`stage ${name} needs no approval: nothing to record`);
  return stage;
}

/**
 * The latest run of the plan awaits this stage's approval when it did not succeed and has not
 * started the stage yet: it stopped before it (exit 4), or is still on its way there.
 */
function awaitsGate(run: RunSnapshot | undefined, stage: string, plan: string): asserts run is RunSnapshot {
  if (!run || run.state === 'succeeded') {
    throw new UsageError(
      `no run of plan ${plan} awaits an approval${run ? ` (the latest, ${run.run}, succeeded)` : ''}: start one with restore apply`,
    );
  }
  const members = Object.values(run.services).filter((s) => s.stage === stage);
  if (members.length === 0)
    throw new UsageError(`run ${run.run} of plan ${plan} does not include stage ${stage} (--only)`);
  if (members.some((s) => s.result !== 'pending' && s.result !== 'skipped'))
    throw new UsageError(`stage ${stage} has already started in run ${run.run}: no approval awaited`);
}

/**
 * The signature of the record with `--sign-with`, checked against the plan's allowed_signers when
 * the plan names one: a signature `apply` would not count is refused now, not found out at the gate.
 */
async function sign(
  record: Omit<InboxApproval, 'signature'>,
  rule: ResolvedApproval,
  keyFile: string | undefined,
  planDir: string,
): Promise<string | null> {
  if (keyFile === undefined) return null;
  const data = canonicalRecord(record);
  const signed = await signApproval(keyFile, data);
  if (!signed.ok)
    throw new UsageError(
      `cannot sign with ${keyFile}: not a usable OpenSSH private key (ssh-keygen: ${signed.reason})`,
    );
  if (rule.allowed_signers !== null) {
    const signers = resolve(planDir, rule.allowed_signers);
    const verdict = await verifyApproval(signers, record.approver, data, signed.signature);
    if (!verdict.ok) {
      throw new UsageError(
        `the signature by ${keyFile} is not ${record.approver}'s in ${rule.allowed_signers} (${verdict.reason}); nothing recorded`,
      );
    }
  }
  return signed.signature;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
