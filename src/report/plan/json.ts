import type { PlanView } from './describe.js';

/**
 * SPEC section 5: `{ name, digest, stages: [ { name, approval, services: [ { name, stage,
 * depends_on, start, stop, health } ] } ] }`, services in start order, with more fields added.
 */
export function renderPlanJson(view: PlanView): string {
  const { plan } = view;
  return `${JSON.stringify(
    {
      name: plan.name,
      digest: view.digest,
      version: plan.version,
      description: plan.description,
      secrets: plan.secrets,
      ...(plan.rto_ms !== undefined ? { rto_ms: plan.rto_ms } : {}),
      ...(view.only.length > 0 ? { only: view.only } : {}),
      stages: plan.stages.map((stage) => ({
        name: stage.name,
        approval: stage.approval,
        approval_rule: stage.approval_rule,
        description: stage.description,
        concurrency: stage.concurrency,
        max_failures: stage.max_failures ?? null,
        computed: stage.computed,
        ...(stage.rto_ms !== undefined ? { rto_ms: stage.rto_ms } : {}),
        services: stage.services.map((name) =>
          view.live ? { ...plan.services[name], live: view.live[name] } : plan.services[name],
        ),
      })),
      // The sinks as shown (URLs to their origin, header values hidden), when there are any.
      ...((plan.notify ?? []).length > 0 ? { notify: plan.notify } : {}),
    },
    null,
    2,
  )}\n`;
}
