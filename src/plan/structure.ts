import { closest } from '../util/closest.js';
import { checkApprovals } from './approval.js';
import { percentHundredths } from './budget.js';
import { depths, findCycles } from './graph.js';
import type { PathSegment } from './locate.js';
import type { Sink } from './sink.js';

/**
 * The cross-references of a plan: stages, dependencies, cycles and stage order. Reads the plain
 * data defensively, so that these problems are reported even when other parts of the file have
 * the wrong shape (every problem at once).
 */
export interface Structure {
  /** Declared stages in order, or null when stages are computed. */
  declared: string[] | null;
  /** Each service's known dependencies (unknown names and self-references left out). */
  deps: Map<string, string[]>;
  /** Each service's stage, declared or computed (`wave-k`), when it could be decided. */
  stageOf: Map<string, string>;
}

type Data = Record<string, unknown>;

const isRecord = (value: unknown): value is Data =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Prefix of computed stage names: `wave-1`, `wave-2`... */
export const WAVE_PREFIX = 'wave-';

export function checkStructure(data: unknown, sink: Sink): Structure {
  const plan = isRecord(data) ? data : {};
  const services = isRecord(plan.services) ? plan.services : {};
  const names = Object.keys(services);
  const nameSet = new Set(names);
  const declared = declaredStages(plan.stages, sink);
  checkApprovals(plan.stages, sink);
  checkBudgets(plan.stages, sink);
  const hostNames = isRecord(plan.hosts) ? Object.keys(plan.hosts) : [];
  const stageIndex = new Map(declared?.map((name, index) => [name, index]) ?? []);
  const deps = new Map<string, string[]>();
  const stageOf = new Map<string, string>();

  for (const name of names) {
    const service = services[name];
    if (!isRecord(service)) {
      deps.set(name, []);
      continue;
    }
    checkStage(name, service, declared, stageIndex, stageOf, sink);
    checkHost(name, service, hostNames, sink);
    deps.set(name, checkDependencies(name, service, nameSet, names, sink));
  }

  // Computing the depths takes every service of an acyclic graph and leaves out those on or
  // behind a cycle: only then is the search for the cycles themselves needed.
  const depth = depths(deps);
  const cycles = depth.size === deps.size ? [] : findCycles(deps);
  for (const cycle of cycles) {
    const [first, second] = cycle as [string, string];
    const written = (services[first] as Data).depends_on as unknown[];
    sink.report(
      ['services', first, 'depends_on', indexOfDependency(written, second)],
      'dependency-cycle',
      `dependency cycle: ${cycle.join(' -> ')}`,
      'a service cannot wait for itself; remove one of these dependencies',
    );
  }

  if (declared) {
    checkStageOrder(services, deps, stageOf, stageIndex, sink);
  } else if (cycles.length === 0) {
    for (const [name, wave] of depth) stageOf.set(name, `${WAVE_PREFIX}${wave}`);
  }
  return { declared, deps, stageOf };
}

function declaredStages(stages: unknown, sink: Sink): string[] | null {
  if (!Array.isArray(stages)) return null;
  const names: string[] = [];
  const firstAt = new Map<string, number>();
  stages.forEach((stage, index) => {
    if (!isRecord(stage) || typeof stage.name !== 'string') return;
    const seen = firstAt.get(stage.name);
    if (seen !== undefined) {
      sink.report(
        ['stages', index, 'name'],
        'invalid-value',
        `stage "${stage.name}" is declared twice (first as stages[${seen}])`,
        'stage names must be unique; rename or merge them',
      );
      return;
    }
    firstAt.set(stage.name, index);
    names.push(stage.name);
  });
  return names;
}

function checkStage(
  name: string,
  service: Data,
  declared: string[] | null,
  stageIndex: Map<string, number>,
  stageOf: Map<string, string>,
  sink: Sink,
): void {
  const stage = service.stage;
  if (declared === null) {
    if (stage !== undefined) {
      sink.report(
        ['services', name, 'stage'],
        'unknown-stage',
        `services.${name}: names stage ${JSON.stringify(stage)}, but this plan declares no stages`,
        'declare the stages under `stages:`, or remove `stage` to let stages be computed from dependencies',
      );
    }
    return;
  }
  if (stage === undefined) {
    sink.report(
      ['services', name],
      'missing-stage',
      `service "${name}" has no stage; this plan declares stages, so every service names one`,
      `add \`stage: ${declared[0] ?? 'name'}\` (declared: ${declared.join(', ')})`,
      'key',
    );
    return;
  }
  if (typeof stage !== 'string') return; // the schema reports the type
  if (!stageIndex.has(stage)) {
    const guess = closest(stage, declared);
    sink.report(
      ['services', name, 'stage'],
      'unknown-stage',
      `service "${name}" names stage "${stage}", which is not declared`,
      guess ? `did you mean "${guess}"?` : `declared stages: ${declared.join(', ')}`,
    );
    return;
  }
  stageOf.set(name, stage);
}

function checkHost(name: string, service: Data, hosts: string[], sink: Sink): void {
  const host = service.host;
  if (typeof host !== 'string' || hosts.includes(host)) return; // the schema reports other types
  const guess = closest(host, hosts);
  sink.report(
    ['services', name, 'host'],
    'unknown-host',
    `service "${name}" runs on host "${host}", which is not declared under hosts`,
    guess
      ? `did you mean "${guess}"?`
      : hosts.length > 0
        ? `declared hosts: ${hosts.join(', ')}`
        : `declare it: \`hosts: { ${host}: { address: ... } }\``,
  );
}

function checkDependencies(
  name: string,
  service: Data,
  nameSet: Set<string>,
  names: string[],
  sink: Sink,
): string[] {
  const list = service.depends_on;
  if (!Array.isArray(list)) return [];
  const known: string[] = [];
  list.forEach((item, index) => {
    const dep = dependencyName(item);
    if (dep === undefined) return; // the schema reports the type, or the missing `service`
    // The common case first: a path for a diagnostic only when there is one to report.
    if (dep !== name && nameSet.has(dep) && !known.includes(dep)) {
      known.push(dep);
      return;
    }
    // The object form's problem is its `service`; a name written alone is the item itself.
    const path: PathSegment[] =
      typeof item === 'string'
        ? ['services', name, 'depends_on', index]
        : ['services', name, 'depends_on', index, 'service'];
    if (dep === name) {
      sink.report(
        path,
        'self-dependency',
        `service "${name}" depends on itself`,
        'remove it from its own depends_on',
      );
    } else if (!nameSet.has(dep)) {
      const guess = closest(dep, names);
      sink.report(
        path,
        'unknown-dependency',
        `service "${name}" depends on "${dep}", which is not a service of this plan`,
        guess ? `did you mean "${guess}"?` : undefined,
      );
    } else {
      sink.report(
        path,
        'invalid-value',
        `service "${name}" lists "${dep}" twice in depends_on`,
        'list it once',
      );
    }
  });
  return known;
}

/** The service an item of `depends_on` names: the item itself, or its `service` (SPEC section 11). */
function dependencyName(item: unknown): string | undefined {
  if (typeof item === 'string') return item;
  return isRecord(item) && typeof item.service === 'string' ? item.service : undefined;
}

/** Where in `depends_on` a dependency is written, in either form. */
function indexOfDependency(written: readonly unknown[], dep: string): number {
  return written.findIndex((item) => dependencyName(item) === dep);
}

/**
 * A stage's `max_failures` as a share is at most 100%: the schema holds its form, and a count
 * above the stage's services is allowed (it tolerates them all, as 100% does).
 */
function checkBudgets(stages: unknown, sink: Sink): void {
  if (!Array.isArray(stages)) return;
  stages.forEach((stage, index) => {
    if (!isRecord(stage) || typeof stage.max_failures !== 'string') return;
    const hundredths = percentHundredths(stage.max_failures);
    if (hundredths === undefined || hundredths <= 10_000) return;
    sink.report(
      ['stages', index, 'max_failures'],
      'invalid-value',
      `stages[${index}].max_failures: ${JSON.stringify(stage.max_failures)} is more than all of the stage's services`,
      'a share is at most "100%"; or write a count, such as 2',
    );
  });
}

function checkStageOrder(
  services: Data,
  deps: Map<string, string[]>,
  stageOf: Map<string, string>,
  stageIndex: Map<string, number>,
  sink: Sink,
): void {
  for (const [name, list] of deps) {
    const stage = stageOf.get(name);
    if (stage === undefined) continue;
    const written = (services[name] as Data).depends_on as unknown[];
    for (const dep of list) {
      const depStage = stageOf.get(dep);
      if (depStage === undefined || stageIndex.get(depStage)! <= stageIndex.get(stage)!) continue;
      sink.report(
        ['services', name, 'depends_on', indexOfDependency(written, dep)],
        'stage-order',
        `service "${name}" (stage ${stage}) depends on "${dep}" of the later stage ${depStage}; stages run in order, so it would never start`,
        `move "${dep}" to stage ${stage} or earlier, or "${name}" to stage ${depStage} or later`,
      );
    }
  }
}
