import { lstatSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import type { ResolvedPlan } from '../plan/model.js';
import type { Timed } from '../run/events.js';
import { errnoOf, readStateFile, writeFileAtomic } from '../run/state/state-files.js';
import { RunTimes, type RunTimesSeed } from '../run/times.js';
import {
  lastSuccessIn,
  type MetricsSnapshot,
  type RtoRow,
  renderMetrics,
  type ServiceMetrics,
} from './metrics.js';
import type { ObserverWarning, RunObserver } from './observer.js';

export interface MetricsFileOptions {
  path: string;
  plan: ResolvedPlan;
  /** A resumed run's times, from its journal: durations then count from where the run began. */
  seed?: RunTimesSeed;
  /** The run's recovery-time objectives at its end, when the plan sets any (src/report/rto.ts). */
  rto?: () => readonly RtoRow[] | undefined;
}

/**
 * Checks `--metrics-file` before anything runs: its directory exists, and what is at the path,
 * if anything, is a regular file, not a link. A message when it is not.
 */
export function metricsFileProblem(path: string): string | undefined {
  const dir = dirname(path);
  try {
    if (!lstatSync(dir).isDirectory()) return `--metrics-file ${path}: ${dir} is not a directory`;
  } catch {
    return `--metrics-file ${path}: its directory ${dir} does not exist`;
  }
  const stats = lstatOrUndefined(path);
  if (stats?.isSymbolicLink())
    return `--metrics-file ${path} is a symbolic link, and restore does not write through links; remove it or name the file itself`;
  if (stats && !stats.isFile()) return `--metrics-file ${path} is not a regular file`;
  return undefined;
}

/**
 * `--metrics-file`: the run in Prometheus text format (src/observe/metrics.ts), written anew at
 * each stage's end and at the run's end. Writes go one after another, off the run's path: a
 * failed write is a warning at the end, and the run goes on.
 */
export function metricsFileObserver(options: MetricsFileOptions): RunObserver {
  const { path, plan } = options;
  const times = new RunTimes(options.seed);
  // Read once, before this run writes: a failed run keeps the last success it found.
  let lastSuccess = previousLastSuccess(path, plan.name);
  const snapshot: MetricsSnapshot = {
    plan: plan.name,
    run: '',
    state: 'running',
    started_at: options.seed?.started ?? 0,
    duration_ms: 0,
    last_success_at: lastSuccess,
    stages: [],
    services: [],
  };
  const settled = new Map<string, ServiceMetrics>();
  const warnings: ObserverWarning[] = [];
  let writing: Promise<void> = Promise.resolve();

  const write = (data: MetricsSnapshot) => {
    writing = writing.then(async () => {
      try {
        writeMetricsFile(path, await renderMetrics(data));
      } catch (error) {
        warnings.push({ source: 'metrics', message: `writing ${path} failed: ${inWords(error)}` });
      }
    });
  };
  const settle = (event: Timed & { service: string; stage: string }, result: ServiceMetrics['result']) => {
    const attempts = 'attempts' in event && typeof event.attempts === 'number' ? event.attempts : 0;
    const ms = 'duration_ms' in event && typeof event.duration_ms === 'number' ? event.duration_ms : null;
    settled.set(event.service, {
      name: event.service,
      stage: event.stage,
      result,
      attempts,
      healthy_ms:
        result === 'healthy' || result === 'already-healthy' ? (ms ?? times.service(event.service)) : null,
    });
  };
  const listener = (event: Timed) => {
    times.add(event);
    switch (event.type) {
      case 'run.started':
      case 'run.resumed':
        snapshot.run = event.run;
        if (snapshot.started_at === 0) snapshot.started_at = event.time;
        break;
      case 'service.healthy':
        settle(event, 'healthy');
        break;
      case 'service.already-healthy':
        settle(event, 'already-healthy');
        break;
      case 'service.failed':
        settle(event, 'failed');
        break;
      case 'service.blocked':
        settle(event, 'blocked');
        break;
      case 'stage.finished':
        snapshot.stages.push({ name: event.stage, result: event.result });
        write(current(event.time));
        break;
      case 'run.finished': {
        for (const [name, summary] of Object.entries(event.services)) {
          if (!(name in plan.services)) continue;
          const up = summary.result === 'healthy' || summary.result === 'already-healthy';
          settled.set(name, {
            name,
            stage: summary.stage,
            result: summary.result,
            attempts: summary.attempts,
            healthy_ms: up ? summary.duration_ms : null,
          });
        }
        if (event.result === 'succeeded') lastSuccess = event.time;
        const rto = options.rto?.();
        write({
          ...current(event.time),
          state: event.result,
          duration_ms: event.duration_ms,
          ...(rto ? { rto } : {}),
        });
        break;
      }
      default:
        break;
    }
  };
  const current = (time: number): MetricsSnapshot => ({
    ...snapshot,
    stages: [...snapshot.stages],
    duration_ms: times.runUntil(time),
    last_success_at: lastSuccess,
    // In the plan's order, whatever order they settled in: the file reads the same every time.
    services: Object.keys(plan.services).flatMap((name) => settled.get(name) ?? []),
  });
  return {
    listener,
    async finish() {
      await writing;
      return warnings;
    },
  };
}

function previousLastSuccess(path: string, plan: string): number | null {
  try {
    const text = readStateFile(path);
    return text === undefined ? null : lastSuccessIn(text, plan);
  } catch {
    // A link or something else in the way: the write will say so.
    return null;
  }
}

/**
 * Replaces the file atomically (node_exporter never reads half of it): a temp file in the same
 * directory, created exclusively and never through a link, written, flushed, renamed over the
 * path. A link at the path is refused, its target untouched. The file keeps the mode it had, so
 * that one made readable for node_exporter (chmod 0644) stays so; a new one is 0600, as every
 * file restore creates (SPEC section 5).
 */
export function writeMetricsFile(path: string, text: string): void {
  const before = lstatOrUndefined(path);
  if (before?.isSymbolicLink())
    throw new Error(
      'it is a symbolic link, and restore does not write through links (its target was not touched)',
    );
  if (before && !before.isFile()) throw new Error('it is not a regular file');
  // The collector reads only `*.prom`: the temp file's name does not end so, and is never read half-written.
  writeFileAtomic(path, text, before ? { mode: before.mode & 0o777 } : {});
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function inWords(error: unknown): string {
  const code = errnoOf(error);
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
