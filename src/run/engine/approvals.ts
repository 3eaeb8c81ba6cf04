import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResolvedApproval, ResolvedStage } from '../../plan/model.js';
import type { EventBus } from '../events.js';
import { canonicalRecord, type InboxApproval, readApprovals } from '../state/approvals-inbox.js';
import type { PlanState } from '../state/state-dir.js';
import { verifyApproval } from './approval-signature.js';

/** How stages that need approval get it (SPEC section 4, step 3, and section 9). */
export interface ApprovalPolicy {
  /** `--yes`: every stage that needs one unsigned approval is approved. */
  yes: boolean;
  /** `--approve <stage>`, repeatable: as `--yes`, for these stages. */
  stages: ReadonlySet<string>;
  /** Recorded with every approval: `--approver`, else $USER. */
  approver: string;
  /** Asks a person, on a terminal; absent when restore is not attached to one. */
  ask?: (question: string) => Promise<boolean>;
  /** `--wait-approval`: wait at a gate, off a terminal too, until enough approvals arrive. */
  wait?: boolean;
  /** `--approval-timeout`: the longest a gate waits (default 30 minutes). */
  timeoutMs?: number;
}

/** Where a gate finds the approvals of its run: the run, its plan's state and digest. */
export interface GateContext {
  bus: EventBus;
  state: PlanState;
  run: string;
  digest: string;
  /** Relative `allowed_signers` paths are relative to the plan file's directory. */
  planDir: string;
  signal: AbortSignal;
  /** Approvals the journal holds already (`--resume`): they hold, one per name. */
  given: readonly { stage: string; approver: string }[];
}

/** How often a waiting gate reads the inbox: an approval is picked up well within 1 s. */
export const INBOX_POLL_MS = 200;
const DEFAULT_TIMEOUT_MS = 30 * 60_000;
const ONE_UNSIGNED: ResolvedApproval = { approvers: 1, from: null, signed: false, allowed_signers: null };

/**
 * Decides whether a stage may start: once `approvers` distinct names (from `from`, if set) have
 * approved it, by `restore approve` (the inbox), the terminal prompt, or `--yes`/`--approve` for a
 * gate that needs one unsigned approval. Each approval counted is a `stage.approved` event.
 */
export async function approveStage(
  stage: ResolvedStage,
  policy: ApprovalPolicy,
  context: GateContext,
): Promise<boolean> {
  const gate = new Gate(stage, stage.approval_rule ?? ONE_UNSIGNED, context);
  if (gate.satisfied) return true;
  const rule = gate.rule;
  const byFlag = policy.yes || policy.stages.has(stage.name);
  if (byFlag && rule.approvers === 1 && !rule.signed && gate.admits(policy.approver)) {
    gate.count({ approver: policy.approver, via: policy.yes ? 'yes' : 'approve-flag' });
    return true;
  }
  await gate.collect();
  if (gate.satisfied) return true;
  // A prompt cannot sign: on a signed gate, the terminal only waits for `restore approve`.
  if (policy.ask && !rule.signed && gate.admits(policy.approver) && !gate.has(policy.approver)) {
    const count = stage.services.length;
    const yes = await policy.ask(
      `Start stage "${stage.name}" (${count} service${count === 1 ? '' : 's'})? [y/N] `,
    );
    if (!yes) return false;
    gate.count({ approver: policy.approver, via: 'prompt' });
    if (gate.satisfied) return true;
  }
  if (!policy.wait && !policy.ask) return false;
  return gate.wait(policy.timeoutMs ?? DEFAULT_TIMEOUT_MS);
}

/** One gate: the names counted so far, and the inbox it reads. */
class Gate {
  readonly #counted = new Set<string>();
  /** Inbox records already found wanting, by content: not verified again at every poll. */
  readonly #refused = new Set<string>();

  constructor(
    private readonly stage: ResolvedStage,
    readonly rule: ResolvedApproval,
    private readonly context: GateContext,
  ) {
    for (const given of context.given) {
      if (given.stage === stage.name && this.admits(given.approver)) this.#counted.add(given.approver);
    }
  }

  get satisfied(): boolean {
    return this.#counted.size >= this.rule.approvers;
  }

  admits(name: string): boolean {
    return this.rule.from === null || this.rule.from.includes(name);
  }

  has(name: string): boolean {
    return this.#counted.has(name);
  }

  count(approval: {
    approver: string;
    via: 'yes' | 'approve-flag' | 'prompt' | 'approve';
    comment?: string | null;
    approved_at?: string;
    signature?: string;
  }): void {
    this.#counted.add(approval.approver);
    this.context.bus.emit({ type: 'stage.approved', stage: this.stage.name, ...approval });
  }

  /** Counts the inbox's approvals that hold: this run's digest, a name of `from`, a good signature. */
  async collect(): Promise<void> {
    const { state, run } = this.context;
    const { approvals } = readApprovals(state, run, this.stage.name);
    for (const approval of approvals) {
      if (this.satisfied) return;
      if (this.#counted.has(approval.approver)) continue;
      const key = JSON.stringify(approval);
      if (this.#refused.has(key)) continue;
      if (await this.holds(approval)) {
        this.count({
          approver: approval.approver,
          via: 'approve',
          comment: approval.comment,
          approved_at: approval.time,
          ...(approval.signature !== null ? { signature: approval.signature } : {}),
        });
      } else {
        this.#refused.add(key);
      }
    }
  }

  private async holds(approval: InboxApproval): Promise<boolean> {
    if (approval.digest !== this.context.digest || !this.admits(approval.approver)) return false;
    if (!this.rule.signed) return true;
    if (approval.signature === null || this.rule.allowed_signers === null) return false;
    const signers = resolve(this.context.planDir, this.rule.allowed_signers);
    const verdict = await verifyApproval(
      signers,
      approval.approver,
      canonicalRecord(approval),
      approval.signature,
    );
    return verdict.ok;
  }

  /** Reads the inbox until the gate is satisfied, the run is interrupted or `timeoutMs` passes. */
  async wait(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const { signal } = this.context;
    this.context.bus.emit({
      type: 'stage.waiting-approval',
      stage: this.stage.name,
      approvals: this.#counted.size,
      approvers: this.rule.approvers,
      from: this.rule.from,
      signed: this.rule.signed,
      timeout_ms: timeoutMs,
    });
    while (!this.satisfied && !signal.aborted && Date.now() < deadline) {
      try {
        await sleep(Math.min(INBOX_POLL_MS, Math.max(0, deadline - Date.now())), undefined, { signal });
      } catch {
        break;
      }
      await this.collect();
    }
    return this.satisfied && !signal.aborted;
  }
}
