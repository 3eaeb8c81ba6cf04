import type { RunResult, ServiceResult } from '../events.js';
import type { JournalLine } from './format.js';

/** A run as its journal tells it: what `status`, `report` and `--resume` read. */
export interface RunSnapshot {
  run: string;
  plan: string;
  file: string;
  digest: string;
  state: 'running' | RunResult;
  started_at: string;
  finished_at: string | null;
  awaiting: string | null;
  approvals: { stage: string; approver: string; time: string }[];
  services: Record<string, ServiceState>;
  /** Services in the order they became healthy in this run (rollback stops them in reverse). */
  healthy_order: string[];
  /** Complete journal lines. */
  lines: number;
}

export interface ServiceState {
  stage: string;
  result: ServiceResult | 'pending' | 'running';
  attempts: number;
  duration_ms: number;
  /** When it started and when it became healthy/failed, for the report's timeline. */
  started_at: string | null;
  finished_at: string | null;
  reason: string | null;
}

type Fields = Record<string, unknown>;
const str = (value: unknown) => (typeof value === 'string' ? value : '');
const num = (value: unknown) => (typeof value === 'number' ? value : 0);

/** Replays a journal's lines into the state of its run; undefined when it never started. */
export function replay(lines: readonly JournalLine[]): RunSnapshot | undefined {
  const first = lines[0];
  if (first?.event !== 'run.started') return undefined;
  const snapshot: RunSnapshot = {
    run: first.run,
    plan: str(first.plan),
    file: str(first.file),
    digest: str(first.digest),
    state: 'running',
    started_at: first.time,
    finished_at: null,
    awaiting: null,
    approvals: [],
    services: {},
    healthy_order: [],
    lines: lines.length,
  };
  const service = (name: unknown, stage?: unknown): ServiceState => {
    const key = str(name);
    snapshot.services[key] ??= {
      stage: str(stage),
      result: 'pending',
      attempts: 0,
      duration_ms: 0,
      started_at: null,
      finished_at: null,
      reason: null,
    };
    return snapshot.services[key]!;
  };
  for (const stage of (first.stages as { name: string; services: string[] }[] | undefined) ?? []) {
    for (const name of stage.services) service(name, stage.name);
  }
  for (const name of (first.not_selected as string[] | undefined) ?? []) service(name).result = 'skipped';

  for (const line of lines.slice(1)) {
    const f = line as unknown as Fields;
    switch (line.event) {
      case 'run.resumed':
        snapshot.state = 'running';
        snapshot.finished_at = null;
        snapshot.awaiting = null;
        break;
      case 'stage.approved':
        snapshot.approvals.push({ stage: str(f.stage), approver: str(f.approver), time: line.time });
        break;
      case 'service.starting': {
        const s = service(f.service, f.stage);
        s.result = 'running';
        s.attempts = num(f.attempt);
        s.started_at ??= line.time;
        break;
      }
      case 'service.healthy': {
        const s = service(f.service, f.stage);
        s.result = 'healthy';
        s.finished_at = line.time;
        if (typeof f.attempts === 'number') s.attempts = f.attempts;
        s.duration_ms = num(f.duration_ms) || s.duration_ms;
        if (!snapshot.healthy_order.includes(str(f.service))) snapshot.healthy_order.push(str(f.service));
        break;
      }
      case 'service.already-healthy': {
        const s = service(f.service, f.stage);
        s.result = 'already-healthy';
        s.started_at ??= line.time;
        s.finished_at = line.time;
        break;
      }
      case 'service.failed': {
        const s = service(f.service, f.stage);
        s.result = 'failed';
        s.attempts = num(f.attempts);
        s.duration_ms = num(f.duration_ms);
        s.finished_at = line.time;
        s.reason = str(f.message);
        break;
      }
      case 'service.blocked':
        Object.assign(service(f.service, f.stage), { result: 'blocked', reason: `blocked by ${str(f.by)}` });
        break;
      case 'service.skipped': {
        const s = service(f.service, f.stage);
        if (s.result !== 'healthy' && s.result !== 'already-healthy') s.result = 'skipped';
        break;
      }
      case 'service.rolled-back':
        // A one-shot left alone was not rolled back, nor was a service whose stop failed.
        if (f.ok === false || f.left_alone === true) break;
        Object.assign(service(f.service, f.stage), { result: 'rolled-back', finished_at: line.time });
        break;
      case 'run.awaiting-approval':
        snapshot.state = 'awaiting-approval';
        snapshot.awaiting = str(f.stage);
        break;
      case 'run.interrupted':
        snapshot.state = 'interrupted';
        break;
      case 'run.finished':
        snapshot.state = str(f.result) as RunResult;
        snapshot.finished_at = line.time;
        snapshot.awaiting = typeof f.awaiting === 'string' ? f.awaiting : null;
        break;
      default:
        break;
    }
  }
  return snapshot;
}
