import type { RunResult, ServiceResult } from '../../events.js';
import { RunTimes, type RunTimesSeed } from '../../times.js';
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
  /** The run's wall time so far (src/run/times.ts), as `run.finished` and the summary count it. */
  duration_ms: number;
}

export interface ServiceState {
  stage: string;
  result: ServiceResult | 'pending' | 'running';
  attempts: number;
  duration_ms: number;
  /**
   * For the report's timeline: the span its `duration_ms` measures (it became healthy or failed at
   * `finished_at`); for a blocked or skipped service, `finished_at` is when that was decided.
   */
  started_at: string | null;
  finished_at: string | null;
  reason: string | null;
  /** The mark of its latest attempt's processes and when that attempt started (see ServiceStarting). */
  mark: string | null;
  attempt_at: string | null;
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
    duration_ms: 0,
  };
  const times = new RunTimes();
  const step = (line: JournalLine) => {
    const f = line as unknown as Fields;
    times.add({
      type: line.event,
      time: Date.parse(line.time),
      service: str(f.service),
      duration_ms: num(f.duration_ms),
    });
  };
  step(first);
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
      mark: null,
      attempt_at: null,
    };
    return snapshot.services[key]!;
  };
  for (const stage of (first.stages as { name: string; services: string[] }[] | undefined) ?? []) {
    for (const name of stage.services) service(name, stage.name);
  }
  for (const name of (first.not_selected as string[] | undefined) ?? [])
    Object.assign(service(name), { result: 'skipped', reason: 'not selected (--only)' });

  for (const line of lines.slice(1)) {
    const f = line as unknown as Fields;
    step(line);
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
        s.reason = null;
        s.mark = typeof f.mark === 'string' ? f.mark : null;
        s.attempt_at = line.time;
        break;
      }
      case 'service.healthy': {
        const s = service(f.service, f.stage);
        s.result = 'healthy';
        s.reason = null;
        // A resumed run's confirmation keeps the time it became healthy.
        if (f.resumed !== true || s.finished_at === null) s.finished_at = line.time;
        if (typeof f.attempts === 'number') s.attempts = f.attempts;
        if (!snapshot.healthy_order.includes(str(f.service))) snapshot.healthy_order.push(str(f.service));
        break;
      }
      case 'service.already-healthy': {
        const s = service(f.service, f.stage);
        s.result = 'already-healthy';
        s.reason = null;
        s.finished_at ??= line.time;
        break;
      }
      case 'service.failed': {
        const s = service(f.service, f.stage);
        s.result = 'failed';
        s.attempts = num(f.attempts);
        s.finished_at = line.time;
        s.reason = str(f.message);
        break;
      }
      case 'service.blocked':
        Object.assign(service(f.service, f.stage), {
          result: 'blocked',
          reason: `blocked by ${str(f.by)}`,
          finished_at: line.time,
        });
        break;
      case 'service.skipped': {
        const s = service(f.service, f.stage);
        if (s.result !== 'healthy' && s.result !== 'already-healthy')
          Object.assign(s, { result: 'skipped', reason: str(f.why) || null, finished_at: line.time });
        break;
      }
      case 'service.rolled-back':
        // A one-shot left alone was not rolled back, nor was a service whose stop failed.
        if (f.ok === false || f.left_alone === true) break;
        // Its timeline keeps the span in which it became healthy.
        service(f.service, f.stage).result = 'rolled-back';
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
  for (const [name, s] of Object.entries(snapshot.services)) {
    s.duration_ms = times.service(name);
    // The span the duration measures, for the report's timeline.
    if (s.finished_at !== null && s.result !== 'blocked' && s.result !== 'skipped')
      s.started_at = new Date(Date.parse(s.finished_at) - s.duration_ms).toISOString();
  }
  snapshot.duration_ms = times.run();
  return snapshot;
}

/** What a resumed run's clock starts from: the times its journal holds so far. */
export function timesSeed(snapshot: RunSnapshot): RunTimesSeed {
  return {
    started: Date.parse(snapshot.started_at),
    services: Object.fromEntries(Object.entries(snapshot.services).map(([name, s]) => [name, s.duration_ms])),
  };
}
