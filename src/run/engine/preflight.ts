import { isAbsolute, join } from 'node:path';
import PQueue from 'p-queue';
import type { ResolvedCommand, ResolvedPlan, ResolvedService } from '../../plan/model.js';
import type { Place } from '../places/place.js';
import type { Places } from '../places/places.js';
import { readCaFile } from '../probes/tls.js';
import { verifyArtifacts } from './integrity.js';

/** What `restore check` looked at (the `check` field of its JSON). */
export const PREFLIGHT_CHECKS = [
  'state-dir',
  'disk-space',
  'lock',
  'ssh',
  'clock',
  'program',
  'cwd',
  'verify',
  'tls-ca',
  'password',
] as const;
export type PreflightCheck = (typeof PREFLIGHT_CHECKS)[number];

export const FINDING_LEVELS = ['ok', 'warning', 'error'] as const;
export type FindingLevel = (typeof FINDING_LEVELS)[number];

/** One line of `restore check`: about this machine (neither host nor service), a host, or a service. */
export interface Finding {
  service?: string;
  host?: string;
  check: PreflightCheck;
  level: FindingLevel;
  message: string;
}

/** A host's clock further than this from this machine's is a warning (SPEC section 8). */
export const MAX_CLOCK_SKEW_MS = 5_000;
/** How long a host may take to answer `true` (the first one opens the shared connection). */
const ANSWER_MS = 30_000;

export interface PreflightOptions {
  /**
   * Looks in flight at once, bounded like `plan --live`: each look at a host is an ssh session,
   * and a plan of many services must not open dozens at once on a host (sshd's MaxSessions is 10
   * per shared connection by default).
   */
  concurrency?: number;
  /** This machine's findings (state dir, free space, lock), made by the caller. */
  thisMachine?: () => Finding[];
}

/**
 * `restore check` (SPEC section 8): what apply needs, looked at everywhere and changed nowhere.
 * Hosts first (each answers over ssh, its clock is close to this one), then each service at its
 * place. Never runs a start or stop command: what runs on a host is `true`, `date +%s` and
 * restore's own lookups (`command -v`, `cd` in a subshell). Findings come in a fixed order, however
 * the checks finished: this machine, hosts in the plan's order, services in start order.
 */
export async function preflight(
  plan: ResolvedPlan,
  places: Places,
  options: PreflightOptions = {},
): Promise<Finding[]> {
  const queue = new PQueue({ concurrency: options.concurrency ?? 8 });
  const services = plan.stages.flatMap((stage) => stage.services.map((name) => plan.services[name]!));
  const hosts = Object.keys(plan.hosts).filter((host) => services.some((service) => service.host === host));
  const lookups = new Lookups(queue);

  const hostFindings = await Promise.all(
    hosts.map((host) => queue.add(() => checkHost(host, places.host(host)))),
  );
  const silent = new Set(hosts.filter((_, index) => hostFindings[index]![0]!.level === 'error'));
  const serviceFindings = await Promise.all(
    services.map(async (service): Promise<Finding[]> => {
      if (service.host !== null && silent.has(service.host)) {
        const message = `not checked: host ${service.host} does not answer`;
        return [{ service: service.name, host: service.host, check: 'ssh', level: 'error', message }];
      }
      return checkService(service, places.of(service), lookups);
    }),
  );
  return [...(options.thisMachine?.() ?? []), ...hostFindings.flat(), ...serviceFindings.flat()];
}

/** A host answers a `true` over ssh (BatchMode), then its clock is read against this one's. */
async function checkHost(host: string, place: Place): Promise<Finding[]> {
  const at = { host };
  const answer = await place.run(TRUE, ANSWER_MS);
  if (answer.failure !== null) return [{ ...at, check: 'ssh', level: 'error', message: answer.message }];
  const findings: Finding[] = [{ ...at, check: 'ssh', level: 'ok', message: 'answers over ssh' }];
  const before = Date.now();
  const clock = await place.clock();
  const after = Date.now();
  if (!clock.ok) {
    findings.push({ ...at, check: 'clock', level: 'warning', message: clock.message });
  } else {
    findings.push({ ...at, check: 'clock', ...judgeSkew(clockSkewMs(clock.epochSeconds, before, after)) });
  }
  return findings;
}

const TRUE: ResolvedCommand = {
  argv: ['true'],
  shell: false,
  cwd: null,
  env: {},
  timeout_ms: null,
  daemon: false,
};

/**
 * How far a host's clock is from this machine's, in ms (positive: the host is ahead), with every
 * doubt given to the host: `date +%s` truncates to the second, so the host's time was somewhere
 * in [s, s + 1 s), read at some moment between `beforeMs` and `afterMs` here (the round trip).
 * The skew is the smallest offset that fits both: 0 when those intervals can meet.
 */
export function clockSkewMs(hostEpochSeconds: number, beforeMs: number, afterMs: number): number {
  const lowest = hostEpochSeconds * 1000 - afterMs;
  const highest = hostEpochSeconds * 1000 + 999 - beforeMs;
  if (lowest > 0) return lowest;
  if (highest < 0) return highest;
  return 0;
}

/** A skew as a finding: a warning past MAX_CLOCK_SKEW_MS (certificates, tokens and logs disagree). */
export function judgeSkew(skewMs: number): Pick<Finding, 'level' | 'message'> {
  const seconds = Math.round(Math.abs(skewMs) / 1000);
  if (Math.abs(skewMs) <= MAX_CLOCK_SKEW_MS)
    return { level: 'ok', message: `within ${MAX_CLOCK_SKEW_MS / 1000} s of this machine's` };
  return {
    level: 'warning',
    message: `${seconds} s ${skewMs > 0 ? 'ahead of' : 'behind'} this machine's (more than ${MAX_CLOCK_SKEW_MS / 1000} s)`,
  };
}

/**
 * A place's answers, each asked once per place and program or directory (services share hosts
 * and tools), and never more at once than the queue lets through.
 */
class Lookups {
  readonly #asked = new Map<Place, Map<string, Promise<boolean | undefined>>>();

  constructor(private readonly queue: PQueue = new PQueue({ concurrency: 8 })) {}

  ask(place: Place, key: string, look: () => Promise<boolean | undefined>): Promise<boolean | undefined> {
    const known = this.#asked.get(place) ?? new Map<string, Promise<boolean | undefined>>();
    this.#asked.set(place, known);
    const answer = known.get(key) ?? this.queue.add(look);
    known.set(key, answer);
    return answer;
  }
}

/** The commands of a service, named as people find them in the plan. */
function commandsOf(service: ResolvedService): { role: string; command: ResolvedCommand }[] {
  return [
    ...(service.start ? [{ role: 'start', command: service.start }] : []),
    ...(service.stop ? [{ role: 'stop', command: service.stop }] : []),
    ...service.health.checks.flatMap((check) =>
      check.kind === 'exec' ? [{ role: 'exec check', command: check.command }] : [],
    ),
  ];
}

/**
 * A service's findings at its place: the program of each of its commands is found there (a
 * `shell: true` command's is /bin/sh: scripts are not parsed), each working directory exists,
 * and what it verifies is present and matches.
 */
export async function checkService(
  service: ResolvedService,
  place: Place,
  lookups: Lookups = new Lookups(),
): Promise<Finding[]> {
  const at = { service: service.name, ...(service.host !== null ? { host: service.host } : {}) };
  const where = service.host === null ? 'here' : `on ${service.host}`;
  const programs = new Map<string, { program: string; path: string; roles: string[] }>();
  const dirs = new Map<string, string[]>();
  for (const { role, command } of commandsOf(service)) {
    const program = command.shell ? '/bin/sh' : (command.argv[0] ?? '');
    // A relative path with a slash is run from the command's working directory, so it is looked for there.
    const path =
      program.includes('/') && !isAbsolute(program) && command.cwd !== null
        ? join(command.cwd, program)
        : program;
    const entry = programs.get(path) ?? { program, path, roles: [] };
    if (!entry.roles.includes(role)) entry.roles.push(role);
    programs.set(path, entry);
    if (command.cwd !== null) dirs.set(command.cwd, [...new Set([...(dirs.get(command.cwd) ?? []), role])]);
  }
  const programFindings = Promise.all(
    [...programs.values()].map(async ({ program, path, roles }): Promise<Finding> => {
      const found = await lookups.ask(place, `program\0${path}`, () => place.hasProgram(path));
      const of = `(${roles.join(', ')})`;
      if (found === true)
        return { ...at, check: 'program', level: 'ok', message: `${program} found ${where} ${of}` };
      if (found === false)
        return { ...at, check: 'program', level: 'error', message: `${program} not found ${where} ${of}` };
      return {
        ...at,
        check: 'program',
        level: 'error',
        message: `cannot tell whether ${program} is ${where} ${of}`,
      };
    }),
  );
  const dirFindings = Promise.all(
    [...dirs].map(async ([dir, roles]): Promise<Finding> => {
      const found = await lookups.ask(place, `dir\0${dir}`, () => place.hasDirectory(dir));
      const of = `(${roles.join(', ')})`;
      if (found === true)
        return { ...at, check: 'cwd', level: 'ok', message: `${dir} exists ${where} ${of}` };
      if (found === false)
        return {
          ...at,
          check: 'cwd',
          level: 'error',
          message: `${dir} is not a directory that can be entered ${where} ${of}`,
        };
      return {
        ...at,
        check: 'cwd',
        level: 'error',
        message: `cannot tell whether ${dir} exists ${where} ${of}`,
      };
    }),
  );
  return [
    ...(await programFindings),
    ...(await dirFindings),
    ...(await verifyFindings(service, place, at)),
    ...(await caFindings(service, place, at)),
    ...passwordFindings(service, at),
  ];
}

/**
 * The `ca` file of each `tls` check is present here and holds PEM certificates: the check reads
 * it on this machine (network checks run from here), and a bad one would fail every round.
 */
export async function caFindings(
  service: ResolvedService,
  place: Place,
  at: Pick<Finding, 'service' | 'host'>,
): Promise<Finding[]> {
  const files = new Set<string>();
  for (const check of service.health.checks)
    if (check.kind === 'tls' && check.ca !== null) files.add(check.ca);
  return Promise.all(
    [...files].map(async (file): Promise<Finding> => {
      const ca = await readCaFile(file, place.localDir);
      return ca.ok
        ? {
            ...at,
            check: 'tls-ca',
            level: 'ok',
            message: `ca file ${file} holds PEM certificates (tls check)`,
          }
        : { ...at, check: 'tls-ca', level: 'error', message: `${ca.detail} (tls check)` };
    }),
  );
}

/**
 * `postgres` and `redis` checks that read a password (SPEC section 11): its variable is set in
 * restore's environment, where the check will read it. The servers themselves are not probed:
 * before a restoration they are expected to be down, and `plan --live` is the look at them.
 */
export function passwordFindings(
  service: ResolvedService,
  at: Pick<Finding, 'service' | 'host'>,
  env: NodeJS.ProcessEnv = process.env,
): Finding[] {
  const findings: Finding[] = [];
  for (const check of service.health.checks) {
    if ((check.kind !== 'postgres' && check.kind !== 'redis') || check.password_env === null) continue;
    const name = check.password_env;
    const set = env[name] !== undefined;
    findings.push({
      ...at,
      check: 'password',
      level: set ? 'ok' : 'error',
      message: set
        ? `${name} is set (password of the ${check.kind} check)`
        : `${name} is not set: the ${check.kind} check reads its password from it (password_env)`,
    });
  }
  return findings;
}

/**
 * The `verify` part of a service's preflight (SPEC section 7's artifacts: each present at the
 * service's place and matching its digest or signature): the very checks every start attempt
 * runs (`verifyArtifacts`), one finding per `verify:` item, ok or error with its message.
 */
export async function verifyFindings(
  service: ResolvedService,
  place: Place,
  at: Pick<Finding, 'service' | 'host'>,
): Promise<Finding[]> {
  if (service.verify.length === 0) return [];
  const results = await verifyArtifacts(place, service.verify);
  return results.map((result) => ({
    ...at,
    check: 'verify',
    level: result.ok ? 'ok' : 'error',
    message: result.message,
  }));
}
