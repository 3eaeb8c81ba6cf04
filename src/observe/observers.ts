import type { ResolvedPlan } from '../plan/model.js';
import type { RunTimesSeed } from '../run/times.js';
import type { Result } from '../util/result.js';
import type { RtoRow } from './metrics.js';
import { metricsFileObserver, metricsFileProblem } from './metrics-file.js';
import type { RunObserver } from './observer.js';
import { type OtlpTarget, otlpTarget } from './otlp-config.js';

type Env = Readonly<Record<string, string | undefined>>;

/** What `--otlp-endpoint`, `--metrics-file` and the OTEL_* variables ask for, checked. */
export interface ObserveChoice {
  otlp?: OtlpTarget;
  metricsFile?: string;
  /** What was set wrong in the environment: a warning, and that observer is off (the run goes on). */
  warnings: string[];
}

/**
 * Checks the observers' options before anything runs. A bad flag is an error (the command line is
 * wrong: exit 2); a bad OTEL_* variable is a warning, since an environment set for other programs
 * must not stop a restoration.
 */
export function observeChoice(
  flags: { otlpEndpoint?: string; metricsFile?: string },
  env: Env,
): Result<ObserveChoice, string> {
  const choice: ObserveChoice = { warnings: [] };
  const otlp = otlpTarget(flags.otlpEndpoint, env);
  if (!otlp.ok) {
    if (flags.otlpEndpoint !== undefined) return otlp;
    choice.warnings.push(`${otlp.error}; no trace is sent`);
  } else if (otlp.value) choice.otlp = otlp.value;
  if (flags.metricsFile !== undefined) {
    const problem = metricsFileProblem(flags.metricsFile);
    if (problem) return { ok: false, error: problem };
    choice.metricsFile = flags.metricsFile;
  }
  return { ok: true, value: choice };
}

export interface ObserveContext {
  plan: ResolvedPlan;
  env: Env;
  version: string;
  redact: (text: string) => string;
  seed?: RunTimesSeed;
  /** The run's RTO rows at its end, for the metrics file (src/report/rto.ts), when the plan sets targets. */
  rto?: () => readonly RtoRow[] | undefined;
}

/** The observers a run was asked for; none loads anything when none was asked for. */
export async function startObservers(choice: ObserveChoice, context: ObserveContext): Promise<RunObserver[]> {
  const observers: RunObserver[] = [];
  if (choice.otlp) {
    const { traceObserver } = await import('./otel.js');
    observers.push(
      await traceObserver({
        target: choice.otlp,
        plan: context.plan,
        serviceName: context.env.OTEL_SERVICE_NAME?.trim() || 'restore',
        version: context.version,
        redact: context.redact,
      }),
    );
  }
  if (choice.metricsFile !== undefined) {
    observers.push(
      metricsFileObserver({
        path: choice.metricsFile,
        plan: context.plan,
        ...(context.seed ? { seed: context.seed } : {}),
        ...(context.rto ? { rto: context.rto } : {}),
      }),
    );
  }
  return observers;
}
