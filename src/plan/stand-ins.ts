import type { StandInHost } from '../run/events.js';
import { closest } from '../util/closest.js';
import type { Result } from '../util/result.js';
import { err, ok } from '../util/result.js';
import { resolveHosts } from './hosts.js';
import type { LoadedPlan } from './load.js';
import { locate, type PathSegment, startOf } from './locate.js';
import type { ResolvedCheck, ResolvedHost, ResolvedPlan, ResolvedService } from './model.js';
import { parseYaml, positionOf } from './parse.js';
import { Host } from './schema.js';

/**
 * A drill's `--hosts FILE` (SPEC section 10): each plan host's stand-in, with the keys of `hosts:`.
 * Every problem is one line, `file:line:column: message`, the way the plan's own are said.
 */
export type StandIns = Record<string, ResolvedHost>;

/** Reads the text of a `--hosts` file against the plan: every plan host mapped, nothing else. */
export function parseStandIns(file: string, text: string, plan: ResolvedPlan): Result<StandIns, string> {
  const parsed = parseYaml(file, text);
  const first = parsed.diagnostics[0];
  if (first) return err(`${file}:${first.line}:${first.column}: ${first.message}`);
  const where = (path: readonly PathSegment[]) => {
    const found = locate(parsed.doc, path);
    const { line, column } = positionOf(parsed.lines, startOf(found.key ?? found.node ?? found.nearest));
    return `${file}:${line}:${column}`;
  };
  const data = parsed.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return err(
      `${where([])}: a hosts file is a mapping of each plan host to its stand-in, such as { db-1: { address: 10.9.0.5, user: ops } }`,
    );
  }
  const entries = data as Record<string, unknown>;
  const planHosts = Object.keys(plan.hosts);
  for (const name of Object.keys(entries)) {
    if (!Object.hasOwn(plan.hosts, name)) {
      const guess = closest(name, planHosts);
      const known = planHosts.length > 0 ? `its hosts are ${planHosts.join(', ')}` : 'it has no hosts';
      return err(
        `${where([name])}: "${name}" is not a host of plan ${plan.name} (${guess ? `did you mean "${guess}"? ` : ''}${known})`,
      );
    }
  }
  const missing = planHosts.filter((name) => !Object.hasOwn(entries, name));
  if (missing.length > 0) {
    return err(
      `${file}: no stand-in for host ${missing.map((name) => `"${name}"`).join(', ')} of plan ${plan.name}: ` +
        'with --hosts every plan host is mapped, so that no command goes to a real one',
    );
  }
  const raw: Record<string, import('./schema.js').RawHost> = {};
  for (const [name, value] of Object.entries(entries)) {
    const checked = Host.safeParse(value);
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      const path = [
        name,
        ...issue.path.map((segment) => (typeof segment === 'number' ? segment : String(segment))),
      ];
      return err(`${where(path)}: hosts.${path.join('.')}: ${issue.message}`);
    }
    raw[name] = checked.data;
  }
  const problems: string[] = [];
  const resolved = resolveHosts(
    raw,
    (_path, value) => value,
    (path, _code, message, hint) =>
      problems.push(`${where(path.slice(1))}: ${message}${hint ? ` (${hint})` : ''}`),
  );
  if (problems.length > 0) return err(problems[0]!);
  return ok(resolved);
}

/** What `run.started` records of the stand-ins: where each host's commands went, nothing secret. */
export function standInRecord(standIns: StandIns): Record<string, StandInHost> {
  return Object.fromEntries(
    Object.entries(standIns).map(([name, host]) => [
      name,
      {
        address: host.address,
        user: host.user,
        port: host.port,
        identity_file: host.identity_file,
        ssh_options: host.ssh_options,
      },
    ]),
  );
}

/**
 * The stand-ins as a journal recorded them, for a drill resumed or taken down without the file;
 * undefined when the plan has a host the drill did not map (the plan changed since).
 */
export function standInsFromRecord(
  record: Record<string, StandInHost>,
  plan: ResolvedPlan,
): StandIns | undefined {
  if (Object.keys(plan.hosts).some((name) => !Object.hasOwn(record, name))) return undefined;
  return Object.fromEntries(
    Object.entries(record).map(([name, host]) => [
      name,
      { name, concurrency: plan.hosts[name]?.concurrency ?? null, ...host },
    ]),
  );
}

/**
 * The plan with every host replaced by its stand-in, before any place is made from it: commands
 * and exec checks then go to the stand-in, and so do the tcp and http checks aimed at the real
 * host (by default, or written out with its address). A stand-in that sets no `concurrency`
 * keeps the plan host's cap. The digest stays the plan's: it is the plan as reviewed that runs.
 */
export function withStandIns(loaded: LoadedPlan, standIns: StandIns): LoadedPlan {
  const plan = loaded.plan;
  const hosts: Record<string, ResolvedHost> = {};
  for (const [name, host] of Object.entries(plan.hosts)) {
    const standIn = standIns[name]!;
    hosts[name] = { ...standIn, concurrency: standIn.concurrency ?? host.concurrency };
  }
  const services: Record<string, ResolvedService> = {};
  for (const [name, service] of Object.entries(plan.services)) {
    const addresses = readdress(plan.hosts, hosts, service.host);
    services[name] = {
      ...service,
      health: { ...service.health, checks: service.health.checks.map((check) => aimed(check, addresses)) },
    };
  }
  const mapped: ResolvedPlan = { ...plan, hosts, services };
  return {
    file: loaded.file,
    dir: loaded.dir,
    plan: mapped,
    display: loaded.display,
    digest: loaded.digest,
    secretValues: loaded.secretValues,
  };
}

/** Real address to stand-in address; the service's own host first when two share an address. */
function readdress(
  real: Record<string, ResolvedHost>,
  stand: Record<string, ResolvedHost>,
  own: string | null,
): Map<string, string> {
  const map = new Map<string, string>();
  if (own !== null) map.set(real[own]!.address, stand[own]!.address);
  for (const [name, host] of Object.entries(real)) {
    if (!map.has(host.address)) map.set(host.address, stand[name]!.address);
  }
  return map;
}

function aimed(check: ResolvedCheck, addresses: ReadonlyMap<string, string>): ResolvedCheck {
  if (check.kind === 'tcp') {
    const to = addresses.get(check.host);
    return to === undefined ? check : { ...check, host: to };
  }
  if (check.kind === 'http') {
    let url: URL;
    try {
      url = new URL(check.url);
    } catch {
      return check;
    }
    const bare = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const to = addresses.get(bare);
    if (to === undefined) return check;
    url.hostname = to.includes(':') ? `[${to}]` : to;
    return { ...check, url: url.toString() };
  }
  return check;
}
