import type { ResolvedPlan } from '../../plan/model.js';
import type { EventBus } from '../events.js';
import type { Places } from '../places/places.js';
import type { JournalEntry } from '../state/journal/format.js';
import { readJournal } from '../state/journal/read.js';
import { stopService } from './down.js';

/** What a drill's teardown did (SPEC section 10), as `drill.torn-down` records it. */
export interface TeardownOutcome {
  stopped: string[];
  failed: string[];
  left_alone: string[];
  left_running: string[];
}

/**
 * The services a drill started and that still run, in the order to stop them, from its journal
 * (every segment of the run, a resumed one too): the reverse of the order they became healthy,
 * a service started but never healthy (it failed, or was in flight) counting from its last start.
 * A service starts only once what it depends on is healthy, so this stops dependents first.
 * Found healthy before the drill (skip_if_healthy) is not started by it: `leftRunning`.
 */
export function teardownOrder(entries: readonly JournalEntry[]): { order: string[]; leftRunning: string[] } {
  const last = new Map<string, number>();
  const foundHealthy = new Set<string>();
  entries.forEach((entry, index) => {
    switch (entry.event) {
      case 'service.starting':
      case 'service.healthy':
        last.set(entry.service, index);
        foundHealthy.delete(entry.service);
        return;
      case 'service.already-healthy':
        if (!last.has(entry.service)) foundHealthy.add(entry.service);
        return;
      case 'service.torn-down':
        // Stopped by an earlier teardown: not again, unless a resumed drill starts it anew.
        if (entry.ok) last.delete(entry.service);
        return;
      case 'service.rolled-back':
        // `drill --on-failure rollback` stopped it already: its stop command is not run twice.
        if (entry.ok && entry.left_alone !== true) last.delete(entry.service);
        return;
      default:
        return;
    }
  });
  const order = [...last.entries()].sort((a, b) => b[1] - a[1]).map(([name]) => name);
  return { order, leftRunning: [...foundHealthy].sort() };
}

/**
 * Stops what the drill started, as `restore down` stops a service (its `stop` command, else its
 * daemon's process group), one at a time in `teardownOrder`, whatever the run's result. One-shots
 * without a stop command are left alone: nothing of them runs. Never aborted by a signal: a
 * rehearsal that stopped half-way would leave services running that nobody means to keep.
 */
export async function tearDown(
  journalFile: string,
  plan: ResolvedPlan,
  places: Places,
  bus: EventBus,
): Promise<TeardownOutcome> {
  const { order, leftRunning } = teardownOrder(readJournal(journalFile).entries);
  const outcome: TeardownOutcome = { stopped: [], failed: [], left_alone: [], left_running: leftRunning };
  for (const name of order) {
    const service = plan.services[name];
    if (!service) continue;
    const result = await stopService(service, places.of(service));
    bus.emit({
      type: 'service.torn-down',
      service: name,
      stage: service.stage,
      ok: result.ok,
      action: result.action,
      message: result.message,
    });
    if (!result.ok) outcome.failed.push(name);
    else if (result.action === 'left-alone') outcome.left_alone.push(name);
    else outcome.stopped.push(name);
  }
  bus.emit({ type: 'drill.torn-down', ...outcome });
  return outcome;
}
