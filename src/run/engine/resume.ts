import { existsSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../places/process/process-group.js';
import { type RunSnapshot, readRun } from '../state/journal/state.js';
import { readHolder } from '../state/lock.js';
import type { PlanState } from '../state/state-dir.js';

/** What `apply --resume` finds in a plan's state directory. */
export type ResumeTarget =
  /** The latest run did not succeed: continue it. */
  | { kind: 'continue'; snapshot: RunSnapshot; journal: string }
  /** Nothing to continue (no run yet, or the latest was killed before it started): a new run. */
  | { kind: 'new'; reason: string }
  /** The latest run succeeded: nothing to do (but a drill's unfinished teardown). */
  | { kind: 'done'; run: string; snapshot: RunSnapshot };

/** Journals of a plan, oldest first (run ids sort by time). */
export function journals(state: PlanState): string[] {
  if (!existsSync(state.runsDir)) return [];
  return readdirSync(state.runsDir)
    .filter((name) => name.endsWith('.jsonl'))
    .sort()
    .map((name) => join(state.runsDir, name));
}

export function findResumable(state: PlanState): ResumeTarget {
  const latest = journals(state).at(-1);
  if (!latest) return { kind: 'new', reason: 'there is no earlier run of this plan' };
  const snapshot = readRun(latest);
  if (!snapshot) return { kind: 'new', reason: 'the latest run was stopped before it recorded its start' };
  if (snapshot.state === 'succeeded') return { kind: 'done', run: snapshot.run, snapshot };
  return { kind: 'continue', snapshot, journal: latest };
}

/**
 * A run as `status` and `report` show it: the latest, or the one named. A run the journal shows
 * unfinished is `running` only while an apply holds the plan's lock for it; otherwise it was
 * stopped without a word (killed) and is `interrupted`.
 */
export function loadRun(state: PlanState, id?: string): RunSnapshot | undefined {
  const file = id === undefined ? journals(state).at(-1) : join(state.runsDir, `${id}.jsonl`);
  if (!file || !existsSync(file)) return undefined;
  const snapshot = readRun(file);
  if (snapshot?.state === 'running') {
    const holder = readHolder(join(state.root, 'lock'));
    const live =
      holder !== undefined &&
      holder.run === snapshot.run &&
      holder.host === hostname() &&
      isAlive(holder.pid);
    if (!live) snapshot.state = 'interrupted';
  }
  return snapshot;
}
