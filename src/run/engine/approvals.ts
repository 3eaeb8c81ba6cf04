import type { ResolvedStage } from '../../plan/model.js';
import type { EventBus } from '../events.js';

/** How stages that need approval get it (SPEC section 4, step 3). */
export interface ApprovalPolicy {
  /** `--yes`: every stage is approved. */
  yes: boolean;
  /** `--approve <stage>`, repeatable. */
  stages: ReadonlySet<string>;
  /** Recorded with every approval: `--approver`, else $USER. */
  approver: string;
  /** Asks a person, on a terminal; absent when restore is not attached to one. */
  ask?: (question: string) => Promise<boolean>;
}

/** Decides whether a stage may start, and records the approval when it may. */
export async function approveStage(
  stage: ResolvedStage,
  policy: ApprovalPolicy,
  bus: EventBus,
): Promise<boolean> {
  const approved = (via: 'yes' | 'approve-flag' | 'prompt') => {
    bus.emit({ type: 'stage.approved', stage: stage.name, approver: policy.approver, via });
    return true;
  };
  if (policy.yes) return approved('yes');
  if (policy.stages.has(stage.name)) return approved('approve-flag');
  if (policy.ask) {
    const count = stage.services.length;
    const yes = await policy.ask(
      `Start stage "${stage.name}" (${count} service${count === 1 ? '' : 's'})? [y/N] `,
    );
    if (yes) return approved('prompt');
  }
  return false;
}
