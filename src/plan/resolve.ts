import type { z } from 'zod';
import { parseDuration } from '../util/duration.js';
import type { Code } from './codes.js';
import { plainWords, splitCommandLine } from './command-line.js';
import { type PartialHost, resolveHosts } from './hosts.js';
import { parseTemplate, renderTemplate, type Template, unsetVariables } from './interpolate.js';
import type { PathSegment } from './locate.js';
import {
  BUILTIN,
  type ResolvedCheck,
  type ResolvedCommand,
  type ResolvedDependency,
  type ResolvedHealth,
  type ResolvedHost,
  type ResolvedService,
  type ResolvedVerify,
} from './model.js';
import { resolveNetCheck } from './resolve-net.js';
import type { Defaults } from './schema.js';
import {
  CHECK_KINDS,
  type RawCheck,
  type RawCommand,
  type RawDependency,
  type RawEnv,
  type RawHealthTiming,
  type RawService,
  type RawStartCommand,
  type RawVerifyItem,
  VERIFY_KINDS,
} from './schema.js';
import type { Target } from './sink.js';

export type RawDefaults = z.infer<typeof Defaults>;

/** Reports a problem at a data path; a no-op when resolving a second time for display. */
export type Report = (
  path: readonly PathSegment[],
  code: Code,
  message: string,
  hint?: string,
  target?: Target,
) => void;

/**
 * How strings are rendered: `real` substitutes every variable (what runs), `display` writes
 * secrets as `${NAME}` (what is shown and what the digest covers).
 */
export interface ResolveContext {
  lookup: (name: string) => string | undefined;
  secrets: ReadonlySet<string>;
  mode: 'real' | 'display';
  report: Report;
  defaults: RawDefaults;
}

interface Inherited {
  env: Record<string, string>;
  cwd: string | null;
  /** The host the service runs on: tcp and http checks default to its address. */
  host: ResolvedHost | null;
}

/** Where the defaults' settings are, as the parent of their paths. */
const DEFAULTS: readonly PathSegment[] = ['defaults'];
const DEFAULT_HEALTH: readonly PathSegment[] = ['defaults', 'health'];
const NO_SECRETS: ReadonlySet<string> = new Set();

/**
 * Resolves one service that passed the schema: defaults applied, commands split, variables substituted.
 *
 * It runs once per service (twice with secrets), 5,000 times for a large plan, so the path of a
 * value, which only a diagnostic needs, is put together only when there is something to report
 * or a `$` to substitute: parent and key travel separately until then.
 */
export function resolveService(
  name: string,
  raw: RawService,
  stage: string,
  deps: string[],
  ctx: ResolveContext,
  host: ResolvedHost | null = null,
): ResolvedService {
  const base: PathSegment[] = ['services', name];
  const r = new Resolver(ctx);
  const { defaults } = ctx;
  // The service's own variables override the defaults' (each keeps its first place, as a spread would).
  const env = r.env(DEFAULTS, 'env', defaults.env);
  if (raw.env !== undefined) Object.assign(env, r.env(base, 'env', raw.env));
  const cwd =
    raw.cwd !== undefined
      ? r.textAt(base, 'cwd', raw.cwd)
      : defaults.cwd !== undefined
        ? r.textAt(DEFAULTS, 'cwd', defaults.cwd)
        : null;
  const inherited: Inherited = { env, cwd, host };
  return {
    name,
    host: host?.name ?? null,
    stage,
    description: raw.description ?? null,
    depends_on: deps,
    dependencies: resolveDependencies(raw.depends_on, deps),
    critical: raw.critical ?? true,
    skip_if_healthy: raw.skip_if_healthy ?? true,
    timeout_ms:
      r.duration(base, 'timeout', raw.timeout, 'positive') ??
      r.duration(DEFAULTS, 'timeout', defaults.timeout, 'positive') ??
      BUILTIN.timeout_ms,
    retries: raw.retries ?? defaults.retries ?? BUILTIN.retries,
    retry_delay_ms:
      r.duration(base, 'retry_delay', raw.retry_delay, 'zero-ok') ??
      r.duration(DEFAULTS, 'retry_delay', defaults.retry_delay, 'zero-ok') ??
      BUILTIN.retry_delay_ms,
    start: raw.start === undefined ? null : r.command([...base, 'start'], raw.start, inherited, true),
    stop: raw.stop === undefined ? null : r.command([...base, 'stop'], raw.stop, inherited, false),
    health: r.health(base, raw, inherited),
    // A service's list replaces the defaults' whole, as every other key does: a service that
    // verifies its own artifacts does not also verify what defaults named (write both to get both).
    verify:
      raw.verify !== undefined
        ? r.verify([...base, 'verify'], raw.verify)
        : r.verify(['defaults', 'verify'], defaults.verify ?? []),
    ...rtoOf(r.duration(base, 'rto', raw.rto, 'positive')),
  };
}

/** The `rto_ms` key of a resolved plan, stage or service: there only when a target is set. */
export function rtoOf(ms: number | undefined): { rto_ms?: number } {
  return ms === undefined ? {} : { rto_ms: ms };
}

/**
 * A plan's or a stage's `rto` in ms, checked as a service's is (a zero target is reported);
 * undefined when not written or not valid.
 */
export function rtoAt(
  path: readonly PathSegment[],
  value: string | undefined,
  ctx: ResolveContext,
): number | undefined {
  return new Resolver(ctx).duration(path.slice(0, -1), String(path.at(-1)), value, 'positive');
}

/**
 * The known dependencies (`deps`, as the structure check kept them) with their condition and
 * whether they are required, from the items written (SPEC section 11).
 */
function resolveDependencies(
  written: readonly RawDependency[] | undefined,
  deps: readonly string[],
): ResolvedDependency[] {
  if (deps.length === 0) return [];
  const byName = new Map<string, RawDependency>();
  for (const item of written ?? []) {
    // A plan with problems elsewhere is resolved leniently: an item may be of any shape.
    const name = typeof item === 'string' ? item : (item as { service?: unknown } | null)?.service;
    if (typeof name === 'string' && !byName.has(name)) byName.set(name, item);
  }
  return deps.map((service) => {
    const item = byName.get(service);
    const form = typeof item === 'object' && item !== null ? item : undefined;
    return { service, condition: form?.condition ?? 'healthy', required: form?.required ?? true };
  });
}

/** The plan's hosts, checked and resolved in the context's mode (see hosts.ts). */
export function resolveHostsIn(
  raw: Record<string, PartialHost>,
  ctx: ResolveContext,
): Record<string, ResolvedHost> {
  const r = new Resolver(ctx);
  return resolveHosts(
    raw,
    (path, value) => r.text(path, value),
    (path, code, message, hint, key) => ctx.report(path, code, message, hint, key ? 'key' : undefined),
  );
}

/**
 * A string at `path` with its variables substituted in the context's mode, an unset one reported
 * (for keys resolved outside a service, such as `notify:`).
 */
export function resolveText(path: readonly PathSegment[], value: string, ctx: ResolveContext): string {
  return new Resolver(ctx).text(path, value);
}

class Resolver {
  constructor(private readonly ctx: ResolveContext) {}

  /** A string that may use ${NAME}, ${NAME:-default} and $$. */
  text(path: readonly PathSegment[], value: string): string {
    if (!value.includes('$')) return value;
    const template = parseTemplate(value);
    if (!template.ok) {
      this.ctx.report(path, 'invalid-value', template.error);
      return value;
    }
    return this.render(path, template.value);
  }

  /** `text` of the value at `[...parent, key]`; that path is built only for a string with a `$`. */
  textAt(parent: readonly PathSegment[], key: PathSegment, value: string): string {
    return value.includes('$') ? this.text([...parent, key], value) : value;
  }

  private render(path: readonly PathSegment[], template: Template): string {
    for (const name of unsetVariables(template, this.ctx.lookup)) {
      this.ctx.report(
        path,
        'unset-variable',
        `\${${name}} is not set in the environment and has no default`,
        `set ${name} before running restore, or write \${${name}:-default}`,
      );
    }
    const hidden = this.ctx.mode === 'display' ? this.ctx.secrets : NO_SECRETS;
    return renderTemplate(template, this.ctx.lookup, hidden);
  }

  /** The variables at `[...parent, key]`, each value a string. */
  env(parent: readonly PathSegment[], key: string, env: RawEnv | undefined): Record<string, string> {
    const out: Record<string, string> = {};
    if (env === undefined) return out;
    for (const name of Object.keys(env)) {
      const value = String(env[name]);
      out[name] = value.includes('$') ? this.text([...parent, key, name], value) : value;
    }
    return out;
  }

  /** The duration at `[...parent, key]` in ms, if written and valid. */
  duration(
    parent: readonly PathSegment[],
    key: string,
    value: string | undefined,
    rule: 'positive' | 'zero-ok',
  ): number | undefined {
    if (value === undefined) return undefined;
    const ms = parseDuration(value);
    if (ms === undefined) return undefined; // the schema reports it
    if (ms === 0 && rule === 'positive') {
      this.ctx.report(
        [...parent, key],
        'invalid-duration',
        'must be greater than zero',
        `for example "${rule === 'positive' ? '1s' : '0s'}"`,
      );
      return undefined;
    }
    return ms;
  }

  command(
    path: readonly PathSegment[],
    raw: RawCommand | RawStartCommand,
    inherited: Inherited,
    isStart: boolean,
  ): ResolvedCommand {
    const command: ResolvedCommand = {
      argv: [],
      shell: false,
      cwd: inherited.cwd,
      env: { ...inherited.env },
      timeout_ms: null,
      daemon: false,
    };
    if (typeof raw === 'string' || Array.isArray(raw)) {
      command.argv = this.argv(path, raw);
      return command;
    }
    const runPath = [...path, 'run'];
    if (raw.shell === true) {
      command.shell = true;
      if (typeof raw.run === 'string') {
        command.argv = [this.text(runPath, raw.run)];
      } else {
        this.ctx.report(
          [...path, 'shell'],
          'invalid-value',
          '`shell: true` runs a script, so `run` must be a string',
          'write `run` as one string',
        );
      }
    } else {
      command.argv = this.argv(runPath, raw.run);
    }
    if (raw.cwd !== undefined) command.cwd = this.textAt(path, 'cwd', raw.cwd);
    if (raw.env !== undefined) Object.assign(command.env, this.env(path, 'env', raw.env));
    command.timeout_ms = this.duration(path, 'timeout', raw.timeout, 'positive') ?? null;
    if (isStart && 'daemon' in raw) command.daemon = raw.daemon === true;
    return command;
  }

  private argv(path: readonly PathSegment[], run: string | (string | number)[]): string[] {
    if (Array.isArray(run)) return run.map((word, index) => this.textAt(path, index, String(word)));
    const plain = plainWords(run);
    if (plain) return plain;
    const words = splitCommandLine(run);
    if (!words.ok) {
      this.ctx.report(
        path,
        'invalid-value',
        words.error,
        'quote with "..." or \'...\', or write the command as a list',
      );
      return [];
    }
    return words.value.map((word) => this.render(path, word));
  }

  health(base: readonly PathSegment[], raw: RawService, inherited: Inherited): ResolvedHealth {
    const written = raw.health;
    const form = Array.isArray(written) ? undefined : written;
    const healthPath = [...base, 'health'];
    const checksPath = Array.isArray(written) ? healthPath : [...healthPath, 'checks'];
    const items = Array.isArray(written) ? written : (written?.checks ?? []);
    const own: RawHealthTiming = form ?? {};
    const shared: RawHealthTiming = this.ctx.defaults.health ?? {};
    const timing = (
      key: 'interval' | 'start_interval' | 'timeout' | 'start_period',
      builtin: number,
    ): number => {
      const rule = key === 'start_period' ? 'zero-ok' : 'positive';
      return (
        this.duration(healthPath, key, own[key], rule) ??
        this.duration(DEFAULT_HEALTH, key, shared[key], rule) ??
        builtin
      );
    };
    const interval = timing('interval', BUILTIN.health.interval_ms);
    const health: ResolvedHealth = {
      checks: [],
      interval_ms: interval,
      // A start_interval above interval counts as interval (SPEC section 2).
      start_interval_ms: Math.min(timing('start_interval', BUILTIN.health.start_interval_ms), interval),
      timeout_ms: timing('timeout', BUILTIN.health.timeout_ms),
      start_period_ms: timing('start_period', BUILTIN.health.start_period_ms),
      retries: own.retries ?? shared.retries ?? BUILTIN.health.retries,
      success_threshold:
        own.success_threshold ?? shared.success_threshold ?? BUILTIN.health.success_threshold,
    };
    items.forEach((item, index) => {
      const check = this.check([...checksPath, index], item, inherited);
      if (check) health.checks.push(check);
    });
    return health;
  }

  verify(path: readonly PathSegment[], items: readonly RawVerifyItem[]): ResolvedVerify[] {
    const out: ResolvedVerify[] = [];
    items.forEach((item, index) => {
      const resolved = this.verifyItem([...path, index], item);
      if (resolved) out.push(resolved);
    });
    return out;
  }

  /** One `verify:` item: exactly one kind, and the keys that kind needs and no others. */
  private verifyItem(path: PathSegment[], item: RawVerifyItem): ResolvedVerify | undefined {
    const kinds = VERIFY_KINDS.filter((kind) => item[kind] !== undefined);
    if (kinds.length !== 1) {
      this.ctx.report(
        path,
        'invalid-value',
        kinds.length === 0
          ? 'a verify item needs one of file, manifest or signed'
          : `a verify item holds exactly one of file, manifest or signed; this one has ${kinds.join(' and ')}`,
        kinds.length === 0
          ? 'for example `- file: bin/api` with `sha256: <64 hex digits>`'
          : 'write each as its own list item',
      );
      return undefined;
    }
    const kind = kinds[0]!;
    const misplaced = (keys: readonly (keyof RawVerifyItem)[]): boolean => {
      let bad = false;
      for (const key of keys) {
        if (item[key] === undefined) continue;
        bad = true;
        this.ctx.report(
          [...path, key],
          'invalid-value',
          `\`${key}\` does not belong with \`${kind}\``,
          kind === 'signed'
            ? 'a signed file is checked by its signature, not a digest'
            : 'only `signed` takes it',
        );
      }
      return bad;
    };
    const needs = (key: keyof RawVerifyItem, example: string): boolean => {
      if (item[key] !== undefined) return true;
      this.ctx.report(
        path,
        'missing-key',
        `\`${kind}\` needs \`${key}\``,
        `for example \`${key}: ${example}\``,
      );
      return false;
    };
    if (kind === 'signed') {
      const ok = !misplaced(['sha256']) && needs('allowed_signers', '/etc/restore/allowed_signers');
      if (!(needs('identity', 'release@example.com') && ok)) return undefined;
      const signed = this.text([...path, 'signed'], item.signed!);
      return {
        kind,
        signed,
        signature:
          item.signature !== undefined
            ? this.text([...path, 'signature'], item.signature)
            : `${signed}${BUILTIN.signatureSuffix}`,
        allowed_signers: this.text([...path, 'allowed_signers'], item.allowed_signers!),
        identity: this.text([...path, 'identity'], item.identity!),
        namespace: item.namespace ?? BUILTIN.namespace,
      };
    }
    const bad = misplaced(['signature', 'allowed_signers', 'identity', 'namespace']);
    if (!needs('sha256', '<64 hex digits>') || bad) return undefined;
    const sha256 = item.sha256!.toLowerCase();
    return kind === 'file'
      ? { kind, file: this.text([...path, 'file'], item.file!), sha256 }
      : { kind, manifest: this.text([...path, 'manifest'], item.manifest!), sha256 };
  }

  private check(path: PathSegment[], item: RawCheck, inherited: Inherited): ResolvedCheck | undefined {
    let written = 0;
    for (const kind of CHECK_KINDS) if (item[kind] !== undefined) written += 1;
    if (written !== 1) {
      const kinds = CHECK_KINDS.filter((kind) => item[kind] !== undefined);
      this.ctx.report(
        path,
        'invalid-value',
        kinds.length === 0
          ? `a health check needs one of ${orList(CHECK_KINDS)}`
          : `a health check holds exactly one of ${orList(CHECK_KINDS)}; this one has ${kinds.join(' and ')}`,
        kinds.length === 0 ? 'for example `- tcp: { port: 5432 }`' : 'write each as its own list item',
      );
      return undefined;
    }
    if (item.http) {
      const http = item.http;
      const url = onHost(this.text([...path, 'http', 'url'], http.url), inherited.host);
      if (this.ctx.mode === 'real') this.checkUrl([...path, 'http', 'url'], url);
      if (http.body_matches !== undefined)
        this.checkRegex([...path, 'http', 'body_matches'], http.body_matches);
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(http.headers ?? {})) {
        headers[key] = this.text([...path, 'http', 'headers', key], value);
      }
      const status = http.status ?? BUILTIN.http.status;
      return {
        kind: 'http',
        url,
        method: http.method ?? BUILTIN.http.method,
        status: typeof status === 'string' ? status : [...new Set([status].flat())].sort((a, b) => a - b),
        body_contains: http.body_contains ?? null,
        body_matches: http.body_matches ?? null,
        headers,
        insecure: http.insecure ?? false,
      };
    }
    if (item.tcp) {
      const host =
        item.tcp.host !== undefined
          ? this.text([...path, 'tcp', 'host'], item.tcp.host)
          : (inherited.host?.address ?? BUILTIN.tcpHost);
      // A port written as a number, the common case, needs neither text nor path.
      const port =
        typeof item.tcp.port === 'number'
          ? item.tcp.port
          : this.port([...path, 'tcp', 'port'], item.tcp.port);
      return { kind: 'tcp', host, port };
    }
    const net = resolveNetCheck(path, item, {
      text: (at, value) => this.text(at, value),
      port: (at, written) => this.port(at, written),
      report: this.ctx.report,
      mode: this.ctx.mode,
      host: inherited.host,
    });
    if (net) return net;
    if (item.postgres) {
      const pg = item.postgres;
      const at = [...path, 'postgres'];
      return {
        kind: 'postgres',
        host: this.probeHost(at, pg.host, inherited),
        port: this.probePort(at, pg.port, BUILTIN.postgres.port),
        user: pg.user !== undefined ? this.text([...at, 'user'], pg.user) : null,
        database:
          pg.database !== undefined ? this.text([...at, 'database'], pg.database) : BUILTIN.postgres.database,
        password_env: pg.password_env ?? null,
      };
    }
    if (item.redis) {
      const at = [...path, 'redis'];
      return {
        kind: 'redis',
        host: this.probeHost(at, item.redis.host, inherited),
        port: this.probePort(at, item.redis.port, BUILTIN.redis.port),
        password_env: item.redis.password_env ?? null,
      };
    }
    if (item.log) {
      this.checkRegex([...path, 'log', 'matches'], item.log.matches);
      return { kind: 'log', matches: item.log.matches };
    }
    const exec = item.exec as RawCommand;
    return { kind: 'exec', command: this.command([...path, 'exec'], exec, inherited, false) };
  }

  /** A probe's `host`: as written, else the service's host's address, else 127.0.0.1 (SPEC section 11). */
  private probeHost(at: PathSegment[], written: string | undefined, inherited: Inherited): string {
    if (written !== undefined) return this.text([...at, 'host'], written);
    return inherited.host?.address ?? BUILTIN.tcpHost;
  }

  private probePort(at: PathSegment[], written: number | string | undefined, fallback: number): number {
    if (written === undefined) return fallback;
    return typeof written === 'number' ? written : this.port([...at, 'port'], written);
  }

  private port(path: PathSegment[], written: string): number {
    const text = this.text(path, written);
    const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
    if (!(port >= 1 && port <= 65535)) {
      if (this.ctx.mode === 'real') {
        this.ctx.report(path, 'invalid-value', `${JSON.stringify(text)} is not a port number (1-65535)`);
      }
      return 0;
    }
    return port;
  }

  private checkUrl(path: PathSegment[], url: string): void {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      this.ctx.report(
        path,
        'invalid-value',
        `${JSON.stringify(url)} is not an http:// or https:// URL`,
        parsed
          ? undefined
          : 'for example "http://127.0.0.1:8080/healthz"; a service with a `host` may write ":8080/healthz"',
      );
    }
  }

  private checkRegex(path: PathSegment[], pattern: string): void {
    try {
      new RegExp(pattern);
    } catch (error) {
      this.ctx.report(path, 'invalid-value', `not a valid regular expression: ${(error as Error).message}`);
    }
  }
}

/**
 * On a service with a host, an http URL may leave out scheme and host (":8080/healthz",
 * "/healthz"): it is then http:// on the host's address (SPEC section 6).
 */
function onHost(url: string, host: ResolvedHost | null): string {
  if (host === null || !(url.startsWith(':') || url.startsWith('/'))) return url;
  const address =
    host.address.includes(':') && !host.address.startsWith('[') ? `[${host.address}]` : host.address;
  return `http://${address}${url}`;
}

/** "a, b or c": the check kinds in a message, however many there are. */
function orList(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}
