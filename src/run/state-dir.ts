import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Where a plan's state lives: `<state-dir>/<plan>/` holds `services/<name>.log|.pid` of daemons
 * and `runs/<run-id>.log` (and later `.jsonl` journals). Names are validated plan and service
 * names, so they are safe in paths. Directories are created 0700: logs may hold sensitive output.
 */
export interface PlanState {
  root: string;
  servicesDir: string;
  runsDir: string;
}

export function planState(stateDir: string, plan: string): PlanState {
  const root = resolve(stateDir, plan);
  return { root, servicesDir: join(root, 'services'), runsDir: join(root, 'runs') };
}

/** Creates the state directories (mode 0700) and returns them. */
export function ensurePlanState(stateDir: string, plan: string): PlanState {
  const state = planState(stateDir, plan);
  for (const dir of [state.servicesDir, state.runsDir]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  return state;
}

export const serviceLog = (state: PlanState, service: string) => join(state.servicesDir, `${service}.log`);
export const servicePid = (state: PlanState, service: string) => join(state.servicesDir, `${service}.pid`);
/** Sockets of the run's shared SSH connections (SPEC section 6). */
export const sshDir = (state: PlanState) => join(state.root, 'ssh');
export const runLog = (state: PlanState, run: string) => join(state.runsDir, `${run}.log`);
export const runJournal = (state: PlanState, run: string) => join(state.runsDir, `${run}.jsonl`);

/** A sortable, time-based run id: `20261125T065300123Z-3f9a`. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('.', '');
  const random = Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, '0');
  return `${stamp}-${random}`;
}
