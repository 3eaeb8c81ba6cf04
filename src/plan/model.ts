/**
 * The resolved plan: defaults applied, durations in milliseconds, commands split into argv,
 * variables substituted. This is what `plan --format json` shows, what the digest covers and
 * what the run engine executes. Field names are part of the JSON contract: add, never rename.
 */

export interface ResolvedCommand {
  /** The argv to execute; with `shell`, a single script for /bin/sh -c. */
  argv: string[];
  shell: boolean;
  /** Working directory as written; relative to the plan file's directory. Null: that directory. */
  cwd: string | null;
  /** Environment added to restore's own: defaults, then the service's, then the command's. */
  env: Record<string, string>;
  /** Deadline of this command alone; null means it is bounded by the service's deadline. */
  timeout_ms: number | null;
  /** Start commands only: keeps running, restore waits for health rather than exit. */
  daemon: boolean;
}

export interface HttpCheck {
  kind: 'http';
  url: string;
  method: string;
  /** Accepted status codes, or a class such as "2xx". */
  status: number[] | string;
  body_contains: string | null;
  body_matches: string | null;
  headers: Record<string, string>;
  insecure: boolean;
}

export interface TcpCheck {
  kind: 'tcp';
  host: string;
  port: number;
}

export interface ExecCheck {
  kind: 'exec';
  command: ResolvedCommand;
}

/** SPEC section 11: grpc.health.v1.Health/Check answers SERVING. */
export interface GrpcCheck {
  kind: 'grpc';
  host: string;
  port: number;
  /** The service asked about; "" is the server as a whole. */
  service: string;
  tls: boolean;
}

/** SPEC section 11: a TLS handshake with a trusted chain, a matching name and `min_days` left. */
export interface TlsCheck {
  kind: 'tls';
  host: string;
  port: number;
  /** The name the certificate must hold: as written, else `host`. */
  servername: string;
  /** A PEM file as written (relative to the plan file's directory); null: the system roots. */
  ca: string | null;
  min_days: number;
}

/** SPEC section 11: a name resolves, to exactly `expect` (in any order) when given. */
export interface DnsCheck {
  kind: 'dns';
  name: string;
  type: 'A' | 'AAAA' | 'CNAME' | 'MX' | 'TXT' | 'SRV' | 'NS';
  expect: string[] | null;
  /** "host" or "host:port"; null: the system resolver. */
  server: string | null;
}

/** SPEC section 11: a PostgreSQL login and `SELECT 1`, on a server neither starting up nor in recovery. */
export interface PostgresCheck {
  kind: 'postgres';
  /** An address, or (starting with `/`) a Unix socket directory on this machine. */
  host: string;
  port: number;
  /** Null: the user running restore, as psql and libpq default. */
  user: string | null;
  database: string;
  /** The variable holding the password, read when the check runs; its value is never in the plan. */
  password_env: string | null;
}

/** SPEC section 11: Redis answers `PING` with `PONG`. */
export interface RedisCheck {
  kind: 'redis';
  host: string;
  port: number;
  password_env: string | null;
}

/** SPEC section 11: a line of this run's output of the service matches `matches`. */
export interface LogCheck {
  kind: 'log';
  matches: string;
}

export type ResolvedCheck =
  | HttpCheck
  | TcpCheck
  | ExecCheck
  | GrpcCheck
  | TlsCheck
  | DnsCheck
  | PostgresCheck
  | RedisCheck
  | LogCheck;

export interface ResolvedHealth {
  checks: ResolvedCheck[];
  interval_ms: number;
  start_interval_ms: number;
  timeout_ms: number;
  start_period_ms: number;
  retries: number;
  success_threshold: number;
}

/** A remote host (SPEC section 6); its services run over the system's OpenSSH client. */
export interface ResolvedHost {
  name: string;
  address: string;
  /** Null: ssh decides (ssh_config, then the local user name). */
  user: string | null;
  port: number;
  /** As written (`~/` is expanded when ssh runs); null: ssh's own identities. */
  identity_file: string | null;
  concurrency: number | null;
  /** Passed as `-o Key=Value`, in the order written. */
  ssh_options: Record<string, string>;
}

export interface ResolvedService {
  name: string;
  /** Name of the host its commands run on; null: this machine. */
  host: string | null;
  stage: string;
  description: string | null;
  depends_on: string[];
  /**
   * The same dependencies, in the same order, with their condition and whether they are required
   * (SPEC section 11); a name written alone is `{ condition: healthy, required: true }`. The loader
   * always sets it; a plan put together by hand may leave it out (see `dependencyOn`).
   */
  dependencies?: ResolvedDependency[];
  critical: boolean;
  skip_if_healthy: boolean;
  /** Deadline for the whole service: start plus becoming healthy. */
  timeout_ms: number;
  retries: number;
  retry_delay_ms: number;
  /** Null: a verify-only service, never started, only probed. */
  start: ResolvedCommand | null;
  stop: ResolvedCommand | null;
  health: ResolvedHealth;
  /** Artifacts checked before every start and for a service already healthy (SPEC section 7). */
  verify: ResolvedVerify[];
  /** SPEC section 10: first start attempt to healthy, at most; present only when the plan sets it. */
  rto_ms?: number;
}

/** A dependency of a service (SPEC section 11). */
export interface ResolvedDependency {
  service: string;
  /** `healthy`: wait until it is healthy; `started`: until its start command has succeeded. */
  condition: 'healthy' | 'started';
  /** False: a failed or blocked dependency does not block the dependent (a warning instead). */
  required: boolean;
}

/** How `service` depends on `dep`, one of its `depends_on`: as written, or a plain name's defaults. */
export function dependencyOn(service: ResolvedService, dep: string): ResolvedDependency {
  return (
    service.dependencies?.find((d) => d.service === dep) ?? {
      service: dep,
      condition: 'healthy',
      required: true,
    }
  );
}

/** A declared stage's `max_failures` (SPEC section 11): as written, and the count it allows. */
export interface ResolvedFailureBudget {
  /** As written: a count, or a share such as "25%". */
  written: number | string;
  /** Failures tolerated: the count, or floor(p% of the stage's services). */
  count: number;
}

/** SPEC section 9: `approval: true` is one unsigned approval from anyone. */
export interface ResolvedApproval {
  approvers: number;
  /** Only these names count; null: any name. */
  from: string[] | null;
  signed: boolean;
  /** As written in the plan; relative to the plan file's directory. */
  allowed_signers: string | null;
}

/**
 * An artifact to check (SPEC section 7). Paths as written: relative ones are the plan
 * directory's here, the login's home directory's on a host (as the host's shell reads them).
 */
export type ResolvedVerify =
  | { kind: 'file'; file: string; sha256: string }
  | { kind: 'manifest'; manifest: string; sha256: string }
  | {
      kind: 'signed';
      signed: string;
      signature: string;
      allowed_signers: string;
      identity: string;
      namespace: string;
    };

export interface ResolvedStage {
  name: string;
  description: string | null;
  /** Whether a human must approve the stage before it starts (any form of `approval:`). */
  approval: boolean;
  /** Who and how many must approve (SPEC section 9); null when `approval` is false. */
  approval_rule: ResolvedApproval | null;
  concurrency: number | null;
  /**
   * Failures of its critical services tolerated before one halts the run; null: none (SPEC
   * section 11). The loader always sets it; a plan put together by hand may leave it out.
   */
  max_failures?: ResolvedFailureBudget | null;
  /** True for `wave-k` stages computed from the dependency graph. */
  computed: boolean;
  /** Services of the stage in a valid start order: dependencies first, ties by name. */
  services: string[];
  /** SPEC section 10: stage start to finish, at most; present only when the plan sets it. */
  rto_ms?: number;
}

/** A notification sink (SPEC section 12); see src/notify/. */
export interface ResolvedNotifySink {
  kind: 'webhook' | 'slack';
  /**
   * Where to POST. Empty: the sink is off (its URL was `${NAME:-}` with NAME unset). In the
   * display form, the origin followed by `/[REDACTED]`: the rest of a webhook URL is a credential.
   */
  url: string;
  /** The journal event names it is sent. */
  events: string[];
  /** Request headers (webhook only); in the display form every value is `[REDACTED]`. */
  headers: Record<string, string>;
}

export interface ResolvedPlan {
  version: 1;
  name: string;
  description: string | null;
  secrets: string[];
  stages: ResolvedStage[];
  hosts: Record<string, ResolvedHost>;
  services: Record<string, ResolvedService>;
  /**
   * SPEC section 10: run start to the last service healthy, approval waits included, at most;
   * present only when the plan sets it (so a plan without targets keeps its digest).
   */
  rto_ms?: number;
  /**
   * Notification sinks, in the order written; a loaded plan always has the list (empty without
   * `notify:`). Optional so that plans built by hand (tests) need not name it. Not digested.
   */
  notify?: ResolvedNotifySink[];
}

/** Built-in values for everything a plan may leave out (SPEC section 2 and the README). */
export const BUILTIN = {
  timeout_ms: 10 * 60_000,
  retries: 0,
  retry_delay_ms: 1_000,
  health: {
    interval_ms: 2_000,
    start_interval_ms: 100,
    timeout_ms: 2_000,
    start_period_ms: 0,
    retries: 30,
    success_threshold: 1,
  },
  http: { method: 'GET', status: '2xx' },
  tcpHost: '127.0.0.1',
  tlsMinDays: 14,
  dnsType: 'A',
  postgres: { port: 5432, database: 'postgres' },
  redis: { port: 6379 },
  signatureSuffix: '.sig',
  namespace: 'file',
  sshPort: 22,
} as const;
