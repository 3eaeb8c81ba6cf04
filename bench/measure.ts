import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from './section.js';

/**
 * Whole-process wall-clock timing. Each sample is one spawnSync of a fresh process, so start-up,
 * module loading and exit are all included: that is what a user (or CI) waits for.
 */

export interface Invocation {
  /** Shown in progress and failure messages. */
  label: string;
  command: string;
  args: readonly string[];
  cwd: string;
  /**
   * Where the child's stdout goes. A file rather than a pipe: spawnSync buffers pipes in memory
   * and fails past maxBuffer, and large outputs (plan --format json) would then measure our
   * buffering instead of the CLI. Overwritten on each run.
   */
  stdoutFile: string;
}

/** A child run by the same node as the benchmark, from the repository root, output kept in tmpDir. */
export function nodeInvocation(
  context: BenchContext,
  label: string,
  nodeArgs: readonly string[],
  outputName: string,
): Invocation {
  return {
    label,
    command: context.node,
    args: nodeArgs,
    cwd: context.root,
    stdoutFile: join(context.tmpDir, outputName),
  };
}

export interface Stats {
  median: number;
  min: number;
  max: number;
}

/** Runs the invocation once and returns its wall time in ms; throws unless it exits 0. */
export function timeOnce(invocation: Invocation): number {
  const stdout = openSync(invocation.stdoutFile, 'w');
  try {
    const started = process.hrtime.bigint();
    const result = spawnSync(invocation.command, invocation.args, {
      cwd: invocation.cwd,
      stdio: ['ignore', stdout, 'pipe'],
      // NO_COLOR keeps output identical whatever the terminal; nothing here is a TTY anyway.
      env: { ...process.env, NO_COLOR: '1' },
      maxBuffer: 16 * 1024 * 1024,
    });
    const elapsed = process.hrtime.bigint() - started;
    if (result.error) throw new Error(`${invocation.label}: ${result.error.message}`);
    if (result.status !== 0)
      throw new Error(failureMessage(invocation, result.status, result.signal, result));
    return Number(elapsed) / 1e6;
  } finally {
    closeSync(stdout);
  }
}

/** One untimed warm-up run (file cache, exit-code check), then `runs` timed ones. */
export function timeRuns(invocation: Invocation, runs: number): number[] {
  timeOnce(invocation);
  return Array.from({ length: runs }, () => timeOnce(invocation));
}

/**
 * A B C A B C rather than all A then all B: drift over the run (CPU frequency, other load, cache
 * state) then hits every side alike instead of skewing the ratios. One warm-up of each first.
 */
export function interleave(invocations: readonly Invocation[], runs: number): number[][] {
  for (const invocation of invocations) timeOnce(invocation);
  const samples = invocations.map((): number[] => []);
  for (let i = 0; i < runs; i += 1) {
    invocations.forEach((invocation, j) => {
      samples[j]!.push(timeOnce(invocation));
    });
  }
  return samples;
}

export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new RangeError('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: median(sorted), min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

function median(sorted: readonly number[]): number {
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function failureMessage(
  invocation: Invocation,
  status: number | null,
  signal: NodeJS.Signals | null,
  result: { stderr: Buffer | string | null },
): string {
  const how = signal ? `was killed by ${signal}` : `exited ${status}`;
  const command = [invocation.command, ...invocation.args].join(' ');
  return [
    `${invocation.label} ${how} (must exit 0): ${command}`,
    tail('stderr', String(result.stderr ?? '')),
    tail('stdout', readFileSync(invocation.stdoutFile, 'utf8')),
  ]
    .filter((part) => part.length > 0)
    .join('\n');
}

/** The end of an output, where the reason for a failure usually is, without flooding the terminal. */
function tail(label: string, text: string): string {
  const lines = text.trimEnd().split('\n').slice(-20);
  return lines.join('').length === 0 ? '' : `--- ${label} (last lines) ---\n${lines.join('\n')}`;
}
