import type { LoadedPlan } from '../../plan/load.js';
import type { EventBus } from '../events.js';
import type { Places } from '../places/places.js';
import { stopService } from './down.js';

/**
 * `--on-failure rollback` (SPEC section 4, step 7): the services this run started are stopped in
 * reverse order of becoming healthy, by their `stop` command, or for a daemon by SIGTERM to its
 * process group and SIGKILL after 10 s. Services that were healthy before the run are not in
 * `startedInOrder`, and so are never touched. One-shots without a stop command are left alone:
 * nothing of them runs. Returns those that were stopped (a daemon found not running included).
 */
export async function rollBack(
  startedInOrder: readonly string[],
  loaded: LoadedPlan,
  places: Places,
  bus: EventBus,
): Promise<Set<string>> {
  const stopped = new Set<string>();
  for (const name of [...startedInOrder].reverse()) {
    const service = loaded.plan.services[name];
    if (!service) continue;
    const result = await stopService(service, places.of(service));
    const base = { type: 'service.rolled-back', service: name, stage: service.stage } as const;
    if (result.action === 'left-alone') {
      // Not a failure: a one-shot that ran to its end leaves nothing to stop.
      bus.emit({ ...base, ok: true, message: result.message, left_alone: true });
      continue;
    }
    bus.emit({ ...base, ok: result.ok, message: result.message });
    if (result.ok) stopped.add(name);
  }
  return stopped;
}
