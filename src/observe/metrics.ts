import type { RunResult, ServiceResult } from '../run/events.js';

/** A recovery-time objective and what the run achieved (SPEC section 10), as `rtoTable` gives them. */
export interface RtoRow {
  level: 'plan' | 'stage' | 'service';
  name: string;
  met: boolean;
  /** Null: missed without being reached (the service failed, the run ended without it). */
  achieved_ms: number | null;
  rto_ms: number;
}

/** A service as the metrics file shows it, once it has settled. */
export interface ServiceMetrics {
  name: string;
  stage: string;
  result: ServiceResult;
  attempts: number;
  /** From its first step to healthy; null when it did not become healthy. */
  healthy_ms: number | null;
}

/** What the metrics file says of a run at one moment: at a stage's end, or at the run's. */
export interface MetricsSnapshot {
  plan: string;
  run: string;
  /** `running` until the run's end. */
  state: 'running' | RunResult;
  /** Epoch milliseconds. */
  started_at: number;
  duration_ms: number;
  /** When the latest successful run of the plan ended (epoch ms): this run's, or an earlier one's. */
  last_success_at: number | null;
  /** Stages that have finished, with their result. */
  stages: { name: string; result: string }[];
  services: ServiceMetrics[];
  /** The run's recovery-time objectives, when the plan sets any. */
  rto?: readonly RtoRow[];
}

/** Every metric of the file, its help and labels: one table for the writer and docs/observability.md. */
export const METRICS = {
  restore_run_info: {
    help: 'The run the file describes, and its state (running, succeeded, failed, interrupted, awaiting-approval); always 1.',
    labels: ['plan', 'run', 'state'],
  },
  restore_run_in_progress: {
    help: '1 while the run goes on (the file was written at a stage end), 0 once it ended.',
    labels: ['plan'],
  },
  restore_run_success: { help: '1 when the run ended with every service healthy, else 0.', labels: ['plan'] },
  restore_run_start_timestamp_seconds: { help: 'When the run started (Unix time).', labels: ['plan'] },
  restore_run_duration_seconds: {
    help: 'How long the run has taken: to its end, or so far at a stage end.',
    labels: ['plan'],
  },
  restore_last_success_timestamp_seconds: {
    help: 'When the latest successful run of the plan ended (Unix time), kept across failed runs.',
    labels: ['plan'],
  },
  restore_stage_success: {
    help: '1 when the stage finished with every service healthy, else 0; finished stages only.',
    labels: ['plan', 'stage'],
  },
  restore_service_healthy: {
    help: '1 when the service is healthy (or already was), else 0; settled services only.',
    labels: ['plan', 'stage', 'service'],
  },
  restore_service_result: {
    help: "The service's result (healthy, already-healthy, failed, blocked, skipped, rolled-back); always 1.",
    labels: ['plan', 'stage', 'service', 'result'],
  },
  restore_service_time_to_healthy_seconds: {
    help: "From the service's first step (check or start) to healthy; healthy services only.",
    labels: ['plan', 'stage', 'service'],
  },
  restore_service_attempts: {
    help: "Attempts of the service's start command in the run.",
    labels: ['plan', 'stage', 'service'],
  },
  restore_rto_met: {
    help: '1 when the recovery-time objective was met, else 0 (level: plan, stage or service).',
    labels: ['plan', 'level', 'name'],
  },
  restore_rto_target_seconds: { help: 'The recovery-time objective.', labels: ['plan', 'level', 'name'] },
  restore_rto_achieved_seconds: { help: 'The recovery time achieved.', labels: ['plan', 'level', 'name'] },
} as const satisfies Record<string, { help: string; labels: readonly string[] }>;

type MetricName = keyof typeof METRICS;

const seconds = (ms: number) => ms / 1000;

/**
 * The snapshot in Prometheus text format, as node_exporter's textfile collector reads it, made
 * with prom-client in a registry of its own (no process metrics, nothing global). Gauges only,
 * without timestamps: the collector refuses samples that carry one.
 */
export async function renderMetrics(snapshot: MetricsSnapshot): Promise<string> {
  const { Gauge, Registry } = await import('prom-client');
  const registry = new Registry();
  const gauges = new Map<MetricName, InstanceType<typeof Gauge>>();
  const set = (name: MetricName, labels: Record<string, string>, value: number) => {
    let gauge = gauges.get(name);
    if (!gauge) {
      const { help, labels: labelNames } = METRICS[name];
      gauge = new Gauge({ name, help, labelNames: [...labelNames], registers: [registry] });
      gauges.set(name, gauge);
    }
    gauge.set(labels, value);
  };
  const plan = { plan: snapshot.plan };
  const running = snapshot.state === 'running';
  set('restore_run_info', { ...plan, run: snapshot.run, state: snapshot.state }, 1);
  set('restore_run_in_progress', plan, running ? 1 : 0);
  set('restore_run_success', plan, snapshot.state === 'succeeded' ? 1 : 0);
  set('restore_run_start_timestamp_seconds', plan, seconds(snapshot.started_at));
  set('restore_run_duration_seconds', plan, seconds(snapshot.duration_ms));
  if (snapshot.last_success_at !== null)
    set('restore_last_success_timestamp_seconds', plan, seconds(snapshot.last_success_at));
  for (const stage of snapshot.stages)
    set('restore_stage_success', { ...plan, stage: stage.name }, stage.result === 'succeeded' ? 1 : 0);
  for (const service of snapshot.services) {
    const labels = { ...plan, stage: service.stage, service: service.name };
    const up = service.result === 'healthy' || service.result === 'already-healthy';
    set('restore_service_healthy', labels, up ? 1 : 0);
    set('restore_service_result', { ...labels, result: service.result }, 1);
    if (service.healthy_ms !== null)
      set('restore_service_time_to_healthy_seconds', labels, seconds(service.healthy_ms));
    set('restore_service_attempts', labels, service.attempts);
  }
  for (const row of snapshot.rto ?? []) {
    const labels = { ...plan, level: row.level, name: row.name };
    set('restore_rto_met', labels, row.met ? 1 : 0);
    set('restore_rto_target_seconds', labels, seconds(row.rto_ms));
    if (row.achieved_ms !== null) set('restore_rto_achieved_seconds', labels, seconds(row.achieved_ms));
  }
  return registry.metrics();
}

/**
 * The last-success time a file written before says for this plan (epoch ms), so that a failed
 * run keeps it: "how long since the plan last restored" stays true across failures.
 */
export function lastSuccessIn(text: string, plan: string): number | null {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`restore_last_success_timestamp_seconds{plan="${plan}"} `));
  if (line === undefined) return null;
  const value = Number(line.slice(line.lastIndexOf(' ') + 1));
  return Number.isFinite(value) && value > 0 ? Math.round(value * 1000) : null;
}
