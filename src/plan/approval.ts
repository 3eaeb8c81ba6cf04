import type { Sink } from './sink.js';

type Data = Record<string, unknown>;

const isRecord = (value: unknown): value is Data =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * What the schema cannot say about a stage's `approval` object (SPEC section 9): a signed approval
 * needs the file its signatures are checked against, and `from` must name enough distinct people
 * for `approvers` to be reachable at all, or the stage could never start.
 */
export function checkApprovals(stages: unknown, sink: Sink): void {
  if (!Array.isArray(stages)) return;
  stages.forEach((stage, index) => {
    if (!isRecord(stage) || !isRecord(stage.approval)) return;
    const rule = stage.approval;
    const at = ['stages', index, 'approval'];
    if (rule.signed === true && rule.allowed_signers === undefined) {
      sink.report(
        at,
        'missing-key',
        'approval: signed: true needs allowed_signers',
        'name the ssh-keygen allowed_signers file the approvers’ keys are listed in',
        'missing',
      );
    }
    if (!Array.isArray(rule.from)) return;
    const names = rule.from.filter((name): name is string => typeof name === 'string');
    const seen = new Set<string>();
    names.forEach((name, i) => {
      if (seen.has(name))
        sink.report([...at, 'from', i], 'invalid-value', `approver "${name}" is listed twice in from`);
      seen.add(name);
    });
    const approvers = typeof rule.approvers === 'number' ? rule.approvers : 1;
    if (seen.size < approvers) {
      sink.report(
        [...at, 'from'],
        'invalid-value',
        `approval needs ${approvers} distinct approvers but from names only ${seen.size}`,
        `list at least ${approvers} names in from, or lower approvers`,
      );
    }
  });
}
