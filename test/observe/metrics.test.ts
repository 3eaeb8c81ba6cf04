import {
  chmodSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lastSuccessIn, METRICS, type MetricsSnapshot, renderMetrics } from '../../src/observe/metrics.js';
import { writeMetricsFile } from '../../src/observe/metrics-file.js';
import { parsePromText, sampleValue } from '../helpers/prom-text.js';

const snapshot: MetricsSnapshot = {
  plan: 'payments',
  run: '20260101T000000000Z-abcdef01',
  state: 'succeeded',
  started_at: 1_767_225_600_000,
  duration_ms: 12_345,
  last_success_at: 1_767_225_612_345,
  stages: [{ name: 'core', result: 'succeeded' }],
  services: [
    { name: 'db', stage: 'core', result: 'healthy', attempts: 2, healthy_ms: 4_500 },
    { name: 'cache', stage: 'core', result: 'already-healthy', attempts: 0, healthy_ms: 12 },
  ],
};

describe('SPEC 12: the metrics file, in Prometheus text format', () => {
  it('carries the run, each service and, given the RTO table, each objective', async () => {
    const text = await renderMetrics({
      ...snapshot,
      rto: [
        { level: 'plan', name: 'payments', met: true, achieved_ms: 12_345, rto_ms: 60_000 },
        { level: 'service', name: 'db', met: false, achieved_ms: 4_500, rto_ms: 2_000 },
      ],
    });
    const samples = parsePromText(text);
    const plan = { plan: 'payments' };
    expect(sampleValue(samples, 'restore_run_info', { ...plan, run: snapshot.run, state: 'succeeded' })).toBe(
      1,
    );
    expect(sampleValue(samples, 'restore_run_success', plan)).toBe(1);
    expect(sampleValue(samples, 'restore_run_in_progress', plan)).toBe(0);
    expect(sampleValue(samples, 'restore_run_duration_seconds', plan)).toBe(12.345);
    expect(sampleValue(samples, 'restore_run_start_timestamp_seconds', plan)).toBe(1_767_225_600);
    expect(sampleValue(samples, 'restore_last_success_timestamp_seconds', plan)).toBe(1_767_225_612.345);
    expect(sampleValue(samples, 'restore_stage_success', { ...plan, stage: 'core' })).toBe(1);
    const db = { ...plan, stage: 'core', service: 'db' };
    expect(sampleValue(samples, 'restore_service_time_to_healthy_seconds', db)).toBe(4.5);
    expect(sampleValue(samples, 'restore_service_attempts', db)).toBe(2);
    expect(sampleValue(samples, 'restore_service_healthy', db)).toBe(1);
    expect(sampleValue(samples, 'restore_service_result', { ...db, result: 'healthy' })).toBe(1);
    expect(sampleValue(samples, 'restore_rto_met', { ...plan, level: 'plan', name: 'payments' })).toBe(1);
    expect(sampleValue(samples, 'restore_rto_met', { ...plan, level: 'service', name: 'db' })).toBe(0);
    expect(
      sampleValue(samples, 'restore_rto_target_seconds', { ...plan, level: 'service', name: 'db' }),
    ).toBe(2);
    expect(
      sampleValue(samples, 'restore_rto_achieved_seconds', { ...plan, level: 'service', name: 'db' }),
    ).toBe(4.5);
    // Only the metrics of the table, in a registry of their own: no process or Node metrics.
    expect(new Set(samples.map((s) => s.name))).toEqual(new Set(Object.keys(METRICS)));
  });

  it('has no RTO metric when the plan sets no objective, and no last success before the first', async () => {
    const samples = parsePromText(
      await renderMetrics({ ...snapshot, state: 'failed', last_success_at: null }),
    );
    expect(samples.filter((s) => s.name.startsWith('restore_rto_'))).toEqual([]);
    expect(samples.filter((s) => s.name === 'restore_last_success_timestamp_seconds')).toEqual([]);
    expect(sampleValue(samples, 'restore_run_success', { plan: 'payments' })).toBe(0);
  });

  it('reads the last success back from a file it wrote, for that plan only', async () => {
    const text = await renderMetrics(snapshot);
    expect(lastSuccessIn(text, 'payments')).toBe(snapshot.last_success_at);
    expect(lastSuccessIn(text, 'other')).toBeNull();
  });
});

describe('SPEC 12: the metrics file is written atomically', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'restore-test-'));
    dirs.push(dir);
    return dir;
  };

  it('replaces the file whole, leaves no temp file, and keeps the mode it had', () => {
    const dir = tempDir();
    const path = join(dir, 'restore.prom');
    writeMetricsFile(path, 'a 1\n');
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    // Made readable for node_exporter, as an operator would.
    chmodSync(path, 0o644);
    writeMetricsFile(path, 'b 2\n');
    expect(readFileSync(path, 'utf8')).toBe('b 2\n');
    expect(lstatSync(path).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir)).toEqual(['restore.prom']);
  });

  it('refuses a symbolic link at the path, its target untouched', () => {
    const dir = tempDir();
    const target = join(dir, 'target');
    writeFileSync(target, 'kept\n');
    symlinkSync(target, join(dir, 'restore.prom'));
    expect(() => writeMetricsFile(join(dir, 'restore.prom'), 'x 1\n')).toThrow(/symbolic link/);
    expect(readFileSync(target, 'utf8')).toBe('kept\n');
    expect(readdirSync(dir).sort()).toEqual(['restore.prom', 'target']);
  });
});
