import { dirname, resolve as resolvePath } from 'node:path';
import type { z } from 'zod';
import type { Result } from '../util/result.js';
import { err, ok } from '../util/result.js';
import { failureBudget } from './budget.js';
import { compareDiagnostics, type Diagnostic } from './diagnostic.js';
import { planDigest } from './digest.js';
import { topologicalOrder } from './graph.js';
import type { PartialHost } from './hosts.js';
import type {
  ResolvedApproval,
  ResolvedHost,
  ResolvedNotifySink,
  ResolvedPlan,
  ResolvedService,
  ResolvedStage,
} from './model.js';
import { displayNotify, resolveNotify } from './notify.js';
import { parseYaml, parseYamlFast, parseYamlLeniently } from './parse.js';
import {
  type RawDefaults,
  type ResolveContext,
  resolveHostsIn,
  resolveService,
  rtoAt,
  rtoOf,
} from './resolve.js';
import {
  Check,
  Defaults,
  HealthTiming,
  Host,
  NotifySink,
  type RawCheck,
  type RawHealth,
  type RawHealthTiming,
  type RawNotifySink,
  type RawPlan,
  Service,
  type Stage,
  VerifyItem,
} from './schema.js';
import { checkSchema } from './schema-diagnostics.js';
import { formatPath } from './schema-walk.js';
import { DiagnosticSink, ProblemCounter, type Sink } from './sink.js';
import { MAX_PLAN_BYTES, readPlanSource, type SourceError } from './source.js';
import { checkStructure, type Structure, WAVE_PREFIX } from './structure.js';

/** A valid plan, ready to preview or run. */
export interface LoadedPlan {
  /** The path as the user gave it. */
  file: string;
  /** Absolute directory of the plan file: relative `cwd`s are resolved against it. */
  dir: string;
  /** What runs: every variable substituted, secrets included. */
  readonly plan: ResolvedPlan;
  /** What is shown and digested: secrets written as `${NAME}`. */
  readonly display: ResolvedPlan;
  readonly digest: string;
  /** Values of the plan's secrets that are set, for redaction of every output. */
  secretValues: string[];
  /** The file's text as read and validated (loaded from a file): what a run keeps a copy of. */
  text?: string;
}

export type LoadError =
  /** `secretValues`: of the secrets the plan lists, as far as they can be read, to redact the diagnostics. */
  | { kind: 'invalid'; diagnostics: Diagnostic[]; secretValues: string[] }
  | { kind: 'source'; error: SourceError };

export type Env = Readonly<Record<string, string | undefined>>;

/** Reads, validates and resolves a plan file. */
export async function loadPlan(file: string, env: Env = process.env): Promise<Result<LoadedPlan, LoadError>> {
  const source = await readPlanSource(file);
  if (!source.ok) return err({ kind: 'source', error: source.error });
  if (source.value.kind === 'too-large') {
    return err({
      kind: 'invalid',
      diagnostics: [
        {
          file,
          line: 1,
          column: 1,
          severity: 'error',
          code: 'file-too-large',
          message: `the file is ${source.value.bytes > MAX_PLAN_BYTES ? 'over' : 'at'} ${MAX_PLAN_BYTES / 1024 / 1024} MiB; plans larger than that are refused unread`,
          hint: 'split the restoration into several plans',
        },
      ],
      secretValues: [],
    });
  }
  const checked = checkPlanText(file, source.value.text, env);
  if (!checked.ok) {
    const secretValues = secretValuesOf(parseYamlLeniently(source.value.text), env);
    return err({ kind: 'invalid', diagnostics: checked.error, secretValues });
  }
  // Set on the object, not spread into a new one: its plan and digest are getters, made on first use.
  checked.value.text = source.value.text;
  return ok(checked.value);
}

/**
 * Validates and resolves plan text; every problem is reported, in source order.
 *
 * A plan is first parsed without source positions, which is about ten times faster; when that
 * parse or any check finds a problem, the file is parsed again with positions and every check runs
 * again to locate each diagnostic. Valid plans, the common case in CI, never pay for positions.
 */
export function checkPlanText(
  file: string,
  text: string,
  env: Env,
  { fastPath = true }: { fastPath?: boolean } = {},
): Result<LoadedPlan, Diagnostic[]> {
  const fast = fastPath ? parseYamlFast(text) : undefined;
  if (fast !== undefined) {
    const counter = new ProblemCounter();
    const plan = buildPlan(file, fast, env, counter);
    if (plan && counter.count === 0) return ok(plan);
  }
  const parsed = parseYaml(file, text);
  if (parsed.data === undefined) return err(parsed.diagnostics.sort(compareDiagnostics));
  // YAML-level problems that leave the data whole (a duplicate key, an unknown tag) are reported
  // with every problem the checks find.
  const sink = new DiagnosticSink(parsed);
  const plan = buildPlan(file, parsed.data, env, sink);
  if (plan && sink.count === 0 && parsed.diagnostics.length === 0) return ok(plan);
  return err([...parsed.diagnostics, ...sink.diagnostics].sort(compareDiagnostics));
}

/**
 * For tests: the codes the checks find on the fast parser's data alone, or undefined when that
 * parser declines the text. A plan's verdict and codes must not depend on which parser ran.
 */
export function fastPathCodes(text: string, env: Env, always = false): string[] | undefined {
  const data = parseYamlFast(text, { always });
  if (data === undefined) return undefined;
  const codes: string[] = [];
  buildPlan('plan.yaml', data, env, {
    report: (_path, code) => void codes.push(code),
    get count() {
      return codes.length;
    },
  });
  return codes;
}

/** Runs every check on plain plan data, and resolves the plan when none reports a problem. */
function buildPlan(file: string, data: unknown, env: Env, sink: Sink): LoadedPlan | undefined {
  const typed = checkSchema(data, sink);
  const structure = checkStructure(data, sink);
  const lookup = (name: string) => env[name];
  const secrets = new Set(typed?.secrets ?? []);
  const real: ResolveContext = {
    lookup,
    secrets,
    mode: 'real',
    report: (path, code, message, hint, target) =>
      sink.report(path, code, `${formatPath(path)}: ${message}`, hint, target),
    defaults: typed?.defaults ?? lenientDefaults(data),
  };
  const hosts = resolveHostsIn(typed ? (typed.hosts ?? {}) : lenientHosts(data), real);
  const services = typed ? typed.services : lenientServices(data);
  const resolved: Record<string, ResolvedService> = {};
  for (const [name, raw] of Object.entries(services)) {
    resolved[name] = resolveService(
      name,
      raw,
      structure.stageOf.get(name) ?? '',
      structure.deps.get(name) ?? [],
      real,
      (raw.host !== undefined ? hosts[raw.host] : undefined) ?? null,
    );
  }
  const rtos = planRtos(data, real);
  const { sinks: notify, secrets: notifySecrets } = resolveNotify(
    typed ? (typed.notify ?? []) : lenientNotify(data),
    real,
  );
  if (sink.count > 0 || !typed) return undefined;

  // The plan, its display form and digest are put together on first use: `validate` needs none of
  // them (the stages' start order alone was a tenth of its time on 5,000 services), and every
  // problem has been found by now. Without secrets, what is shown is exactly what runs.
  let stages: ResolvedStage[] | undefined;
  let plan: ResolvedPlan | undefined;
  const runPlan = (): ResolvedPlan => {
    stages ??= buildStages(typed, structure, rtos);
    plan ??= assemble(typed, stages, hosts, resolved, rtos, notify);
    return plan;
  };
  let display: { plan: ResolvedPlan; digest: string } | undefined;
  const shown = () => {
    if (!display && secrets.size === 0 && notify.length === 0)
      display = { plan: runPlan(), digest: planDigest(runPlan()) };
    if (!display) {
      const context: ResolveContext = { ...real, mode: 'display', report: () => {} };
      const shownHosts = resolveHostsIn(typed.hosts ?? {}, context);
      const services: Record<string, ResolvedService> = {};
      for (const [name, raw] of Object.entries(typed.services)) {
        services[name] = resolveService(
          name,
          raw,
          structure.stageOf.get(name)!,
          structure.deps.get(name)!,
          context,
          raw.host !== undefined ? shownHosts[raw.host]! : null,
        );
      }
      stages ??= buildStages(typed, structure, rtos);
      const plan = assemble(typed, stages, shownHosts, services, rtos, displayNotify(notify));
      display = { plan, digest: planDigest(plan) };
    }
    return display;
  };
  return {
    file,
    dir: dirname(resolvePath(file)),
    get plan() {
      return runPlan();
    },
    get display() {
      return shown().plan;
    },
    get digest() {
      return shown().digest;
    },
    // A sink's URL and headers are credentials, hidden like the plan's secrets (SPEC section 12).
    secretValues: [...secretValuesOf(data, env), ...notifySecrets],
  };
}

/** Values of the secrets a plan's data lists (a lone name counts), set and not empty. */
function secretValuesOf(data: unknown, env: Env): string[] {
  const listed = isRecord(data) ? data.secrets : undefined;
  const names = (Array.isArray(listed) ? listed : [listed]).filter((name) => typeof name === 'string');
  names.push(...passwordEnvNames(data));
  return names.map((name) => env[name] ?? '').filter((value) => value !== '');
}

/** The plan's and the declared stages' RTO targets in ms (SPEC section 10), by stage name. */
interface PlanRtos {
  plan: number | undefined;
  stages: Map<string, number>;
}

/**
 * Reads the targets of the plan and its stages from the plain data, so that a zero target is
 * reported along with every other problem of an invalid plan.
 */
function planRtos(data: unknown, ctx: ResolveContext): PlanRtos {
  const plan = isRecord(data) ? data : {};
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const stages = new Map<string, number>();
  if (Array.isArray(plan.stages)) {
    plan.stages.forEach((stage, index) => {
      if (!isRecord(stage)) return;
      const ms = rtoAt(['stages', index, 'rto'], text(stage.rto), ctx);
      if (ms !== undefined && typeof stage.name === 'string' && !stages.has(stage.name))
        stages.set(stage.name, ms);
    });
  }
  return { plan: rtoAt(['rto'], text(plan.rto), ctx), stages };
}

/**
 * The variables a `postgres` or `redis` check reads its password from (SPEC section 11): their
 * values are secrets whether or not `secrets:` lists them, since a probe sends them.
 */
function passwordEnvNames(data: unknown): string[] {
  const services = isRecord(data) && isRecord(data.services) ? Object.values(data.services) : [];
  const names: string[] = [];
  for (const service of services) {
    const health = isRecord(service) ? service.health : undefined;
    const checks = Array.isArray(health) ? health : isRecord(health) ? health.checks : undefined;
    if (!Array.isArray(checks)) continue;
    for (const check of checks) {
      if (!isRecord(check)) continue;
      for (const kind of ['postgres', 'redis'] as const) {
        const body = check[kind];
        if (isRecord(body) && typeof body.password_env === 'string') names.push(body.password_env);
      }
    }
  }
  return names;
}

function assemble(
  raw: RawPlan,
  stages: ResolvedStage[],
  hosts: Record<string, ResolvedHost>,
  services: Record<string, ResolvedService>,
  rtos: PlanRtos,
  notify: ResolvedNotifySink[],
): ResolvedPlan {
  return {
    version: 1,
    name: raw.name,
    description: raw.description ?? null,
    secrets: raw.secrets ?? [],
    stages,
    hosts,
    services,
    ...rtoOf(rtos.plan),
    notify,
  };
}

function buildStages(raw: RawPlan, structure: Structure, rtos: PlanRtos): ResolvedStage[] {
  const members = new Map<string, string[]>();
  for (const [service, stage] of structure.stageOf) {
    const list = members.get(stage);
    if (list) list.push(service);
    else members.set(stage, [service]);
  }
  const order = (stage: string) => topologicalOrder(structure.deps, members.get(stage) ?? []);
  if (raw.stages) {
    return raw.stages.map((stage) => ({
      name: stage.name,
      description: stage.description ?? null,
      approval: stage.approval !== undefined && stage.approval !== false,
      approval_rule: approvalRule(stage.approval),
      concurrency: stage.concurrency ?? null,
      max_failures:
        stage.max_failures === undefined
          ? null
          : failureBudget(stage.max_failures, members.get(stage.name)?.length ?? 0),
      computed: false,
      services: order(stage.name),
      ...rtoOf(rtos.stages.get(stage.name)),
    }));
  }
  const waves = members.size;
  return Array.from({ length: waves }, (_, index) => {
    const name = `${WAVE_PREFIX}${index + 1}`;
    return {
      name,
      description: null,
      approval: false,
      approval_rule: null,
      concurrency: null,
      max_failures: null,
      computed: true,
      services: order(name),
    };
  });
}

/** `approval: true` is one unsigned approval from anyone; the object form says who and how many. */
function approvalRule(approval: z.infer<typeof Stage>['approval']): ResolvedApproval | null {
  if (approval === undefined || approval === false) return null;
  if (approval === true) return { approvers: 1, from: null, signed: false, allowed_signers: null };
  return {
    approvers: approval.approvers ?? 1,
    from: approval.from ?? null,
    signed: approval.signed ?? false,
    allowed_signers: approval.allowed_signers ?? null,
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The well-formed parts of an invalid plan, field by field (and check by check, keeping each
 * check's index), so that the problems inside them are found in the same pass.
 */
function lenientServices(data: unknown): RawPlan['services'] {
  return lenientEntries(isRecord(data) ? data.services : undefined, Service) as RawPlan['services'];
}

/** The sinks of an invalid plan that pass the schema alone, each at its index. */
function lenientNotify(data: unknown): (RawNotifySink | undefined)[] {
  return lenientList(NotifySink, isRecord(data) ? data.notify : undefined) ?? [];
}

function lenientHosts(data: unknown): Record<string, PartialHost> {
  return lenientEntries(isRecord(data) ? data.hosts : undefined, Host) as Record<string, PartialHost>;
}

/** Each entry of a map (services, hosts) whole when it passes `schema`, else field by field. */
function lenientEntries(map: unknown, schema: z.ZodObject): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isRecord(map)) return out;
  for (const [name, value] of Object.entries(map)) {
    const parsed = schema.safeParse(value);
    if (parsed.success) out[name] = parsed.data;
    else if (isRecord(value)) out[name] = lenientObject(schema, value);
  }
  return out;
}

function lenientDefaults(data: unknown): RawDefaults {
  const value = isRecord(data) ? data.defaults : undefined;
  return isRecord(value) ? (lenientObject(Defaults, value) as RawDefaults) : {};
}

function lenientObject(schema: z.ZodObject, value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    if (value[key] === undefined) continue;
    const parsed = field.safeParse(value[key]);
    if (parsed.success) out[key] = parsed.data;
    else if (key === 'health') out[key] = lenientHealth(value[key]);
    else if (key === 'verify') out[key] = lenientList(VerifyItem, value[key]);
  }
  return out;
}

/** The items of a list that pass `schema` alone: one bad item does not hide the others' problems. */
function lenientList<T>(schema: z.ZodType<T>, list: unknown): T[] | undefined {
  if (!Array.isArray(list)) return undefined;
  // A sparse array keeps every good item at its index, so diagnostics point at the right item.
  const kept: T[] = new Array(list.length);
  list.forEach((item, index) => {
    const parsed = schema.safeParse(item);
    if (parsed.success) kept[index] = parsed.data;
  });
  return kept;
}

function lenientHealth(value: unknown): RawHealth | undefined {
  const checks = (list: unknown): RawCheck[] | undefined => lenientList(Check, list);
  if (Array.isArray(value)) return checks(value);
  if (!isRecord(value)) return undefined;
  const timing = lenientObject(HealthTiming, value) as RawHealthTiming;
  const list = checks(value.checks);
  return list ? { ...timing, checks: list } : timing;
}
