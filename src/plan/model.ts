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

export type ResolvedCheck = HttpCheck | TcpCheck | ExecCheck;

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
  /** True for `wave-k` stages computed from the dependency graph. */
  computed: boolean;
  /** Services of the stage in a valid start order: dependencies first, ties by name. */
  services: string[];
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
  signatureSuffix: '.sig',
  namespace: 'file',
  sshPort: 22,
} as const;
