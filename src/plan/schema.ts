import * as z from 'zod';
import { DURATION_PATTERN } from '../util/duration.js';

/**
 * The plan format, defined once (SPEC section 2). The validator checks plans against it, the
 * TypeScript types of a raw plan are inferred from it, and `restore schema` prints it as JSON Schema.
 * It describes what a user writes; `resolve.ts` turns a valid plan into the resolved form.
 */

/** Leaf kinds that get their own diagnostic code instead of a generic type error. */
export type LeafKind = 'duration' | 'name' | 'env-name' | 'version';
export const leafKinds = z.registry<{ kind: LeafKind }>();

export const NAME_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,62}$';
/** A stage's `max_failures` as a share of its services: "25%", "12.5%". */
export const PERCENT_PATTERN = '^\\d{1,3}(\\.\\d+)?%$';
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';

export const Name = z.string().regex(new RegExp(NAME_PATTERN)).register(leafKinds, { kind: 'name' }).meta({
  description:
    'Lower-case letters, digits, `_`, `.`, `-`; starts with a letter or digit; at most 63 characters.',
});

/**
 * A schema with a description of its own where it is used. `.meta()` returns a copy, so the copy
 * gets the original's leaf kind too (diagnostics look kinds up by schema).
 */
function described<T extends z.ZodType>(schema: T, description: string): T {
  const copy = schema.meta({ description }) as T;
  const kind = leafKinds.get(schema);
  if (kind) leafKinds.add(copy, kind);
  return copy;
}

const EnvName = z
  .string()
  .regex(new RegExp(ENV_NAME_PATTERN))
  .register(leafKinds, { kind: 'env-name' })
  .meta({ description: 'An environment variable name.' });

const Duration = z
  .string()
  .regex(new RegExp(DURATION_PATTERN))
  .register(leafKinds, { kind: 'duration' })
  .meta({ description: 'A duration with units, largest first: "250ms", "2s", "5m", "1h", "1m30s".' });

/** SPEC section 10: a recovery time objective; only the plan, a stage and a service take one. */
const Rto = (what: string) =>
  Duration.optional().meta({ description: `Recovery time objective: ${what}. Greater than zero.` });

const Count = (min: number, description: string) => z.int().min(min).max(1_000_000).meta({ description });

const EnvValue = z.union([z.string(), z.number(), z.boolean()]);
const Env = z
  .record(EnvName, EnvValue)
  .meta({ description: 'Environment variables; values may use ${NAME}, ${NAME:-default} and $$.' });

const Argv = z.array(z.union([z.string(), z.number()])).min(1);
const Run = z.union([z.string().min(1), Argv]).meta({
  description:
    'A command: a string split into words like a shell would (but run without one), or an argv list.',
});

const commandFields = {
  run: Run,
  cwd: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Working directory; relative paths are relative to the plan file.' }),
  env: Env.optional(),
  timeout: Duration.optional().meta({
    description: 'Deadline for this command alone (not for a daemon, which health checks watch).',
  }),
  shell: z
    .boolean()
    .optional()
    .meta({ description: 'Run `run` (a string) through /bin/sh -c. Default false.', default: false }),
};

const CommandObject = z.strictObject(commandFields);
const StartObject = z.strictObject({
  ...commandFields,
  daemon: z.boolean().optional().meta({
    description: 'The command keeps running; restore waits for health, not for its exit. Default false.',
    default: false,
  }),
});

export const Command = z.union([z.string().min(1), Argv, CommandObject]).meta({
  description: 'A string (split into argv, no shell), an argv list, or an object with `run`.',
});
export const StartCommand = z.union([z.string().min(1), Argv, StartObject]).meta({
  description: 'A string (split into argv, no shell), an argv list, or an object with `run` and `daemon`.',
});

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const StatusCode = z.int().min(100).max(599);
const HttpCheck = z.strictObject({
  url: z.string().min(1).meta({ description: 'An http:// or https:// URL.' }),
  method: z.enum(HTTP_METHODS).optional().meta({ description: 'HTTP method. Default GET.', default: 'GET' }),
  status: z
    .union([StatusCode, z.array(StatusCode).min(1), z.string().regex(/^[1-5]xx$/)])
    .optional()
    .meta({
      description: 'Accepted status: a code, a list of codes, or a class such as "2xx" (the default).',
      default: '2xx',
    }),
  body_contains: z.string().optional().meta({ description: 'Text the body must contain.' }),
  body_matches: z.string().optional().meta({ description: 'A regular expression the body must match.' }),
  headers: z
    .record(z.string().min(1), z.string())
    .optional()
    .meta({ description: 'Request headers; values may use ${NAME} and ${NAME:-default}.' }),
  insecure: z
    .boolean()
    .optional()
    .meta({ description: 'Accept any TLS certificate. Default false.', default: false }),
});
const TcpCheck = z.strictObject({
  host: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "Default 127.0.0.1, or for a remote service its host's address." }),
  port: z
    .union([z.int().min(1).max(65535), z.string().min(1)])
    .meta({ description: 'A port number, or a string such as "${PORT:-5432}" that resolves to one.' }),
});

/** `host` of a network check run from this machine (grpc, tls): as tcp's. */
const NetHost = z
  .string()
  .min(1)
  .optional()
  .meta({ description: "Default 127.0.0.1, or for a remote service its host's address." });
const NetPort = z
  .union([z.int().min(1).max(65535), z.string().min(1)])
  .meta({ description: 'A port number, or a string such as "${PORT:-50051}" that resolves to one.' });
const GrpcCheck = z.strictObject({
  host: NetHost,
  port: NetPort,
  service: z.string().optional().meta({
    description: 'The service name asked about; "" (the default) is the server as a whole.',
    default: '',
  }),
  tls: z
    .boolean()
    .optional()
    .meta({ description: 'Connect with TLS, trusting the system roots. Default false.', default: false }),
});
const TlsCheck = z.strictObject({
  host: NetHost,
  port: NetPort,
  servername: z.string().min(1).optional().meta({
    description: 'The name the certificate must hold (and SNI when it is not an address). Default: host.',
  }),
  ca: z.string().min(1).optional().meta({
    description:
      "A PEM file of the CAs to trust instead of the system roots; relative to the plan file's directory.",
  }),
  min_days: z
    .int()
    .min(0)
    .max(36_500)
    .optional()
    .meta({ description: 'Days the certificate must stay valid at least. Default 14.', default: 14 }),
});
/** Record types a `dns` check can ask for (docs/plan-format.md says how each answer is written). */
export const DNS_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'NS'] as const;
const DnsCheck = z.strictObject({
  name: z.string().min(1).meta({ description: 'The name to resolve, e.g. "db.internal".' }),
  type: z.enum(DNS_TYPES).optional().meta({ description: 'Record type. Default A.', default: 'A' }),
  expect: z.array(z.string().min(1)).min(1).optional().meta({
    description:
      'The answer must be exactly these values, in any order (MX "10 mail.example.com", SRV "0 5 5060 sip.example.com").',
  }),
  server: z.string().min(1).optional().meta({
    description:
      'A DNS server address, "host" or "host:port" ("[::1]:53" for IPv6). Default: the system resolver.',
  }),
});

const ProbePort = (fallback: number) =>
  z
    .union([z.int().min(1).max(65535), z.string().min(1)])
    .optional()
    .meta({
      description: `A port number, or a string such as "\${PORT:-${fallback}}" that resolves to one. Default ${fallback}.`,
      default: fallback,
    });
const ProbeHost = z.string().min(1).optional().meta({
  description: "Default 127.0.0.1, or for a remote service its host's address.",
});
const PasswordEnv = EnvName.optional().meta({
  description:
    'An environment variable holding the password, read when the check runs; its value is a secret, never shown.',
});
const PostgresCheck = z.strictObject({
  host: z.string().min(1).optional().meta({
    description:
      "Default 127.0.0.1, or for a remote service its host's address; a path (starting with /) is a Unix socket directory on this machine.",
  }),
  port: ProbePort(5432),
  user: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'The role to log in as. Default: the user running restore (as psql does).' }),
  database: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'The database to connect to. Default "postgres".', default: 'postgres' }),
  password_env: PasswordEnv,
});
const RedisCheck = z.strictObject({
  host: ProbeHost,
  port: ProbePort(6379),
  password_env: PasswordEnv,
});
const LogCheck = z.strictObject({
  matches: z.string().min(1).meta({
    description:
      "A regular expression (JavaScript syntax) a line of this run's output of the service must match.",
  }),
});

export const CHECK_KINDS = ['http', 'tcp', 'exec', 'grpc', 'tls', 'dns', 'postgres', 'redis', 'log'] as const;
export const Check = z
  .strictObject({
    http: HttpCheck.optional().meta({ description: 'An HTTP(S) request answers with an accepted status.' }),
    tcp: TcpCheck.optional().meta({ description: 'A TCP connection opens.' }),
    exec: Command.optional().meta({ description: "A command exits 0 within the check's timeout." }),
    grpc: GrpcCheck.optional().meta({ description: 'grpc.health.v1.Health/Check answers SERVING.' }),
    tls: TlsCheck.optional().meta({
      description: 'A TLS handshake succeeds with a trusted chain, a matching name and min_days left.',
    }),
    dns: DnsCheck.optional().meta({ description: 'A name resolves, to exactly `expect` when given.' }),
    postgres: PostgresCheck.optional().meta({
      description:
        'A PostgreSQL login and `SELECT 1` succeed, on a server that is neither starting up nor in recovery.',
    }),
    redis: RedisCheck.optional().meta({
      description: 'Redis answers `PING` with `PONG` (not loading, not an error).',
    }),
    log: LogCheck.optional().meta({
      description: "A line of this run's output of the service matches a regular expression.",
    }),
  })
  .meta({
    description:
      'One health check: exactly one of `http`, `tcp`, `exec`, `grpc`, `tls`, `dns`, `postgres`, `redis`, `log`.',
    minProperties: 1,
    maxProperties: 1,
  });

const timingFields = {
  interval: Duration.optional().meta({
    description: 'Gap between probe rounds once a round has passed. Default 2s.',
    default: '2s',
  }),
  start_interval: Duration.optional().meta({
    description: 'First gap between rounds before one passes; doubles up to `interval`. Default 100ms.',
    default: '100ms',
  }),
  timeout: Duration.optional().meta({ description: 'Deadline of one check. Default 2s.', default: '2s' }),
  start_period: Duration.optional().meta({
    description: 'Failed rounds inside this period do not count. Default 0s.',
    default: '0s',
  }),
  retries: Count(1, 'Failing rounds in a row after which the service has failed. Default 30.')
    .optional()
    .meta({ default: 30 }),
  success_threshold: Count(1, 'Passing rounds in a row after which the service is healthy. Default 1.')
    .optional()
    .meta({ default: 1 }),
};
export const HealthTiming = z.strictObject(timingFields);
export const Health = z
  .union([
    z.array(Check),
    z.strictObject({
      checks: z
        .array(Check)
        .optional()
        .meta({ description: 'The checks of one probe round; all must pass.' }),
      ...timingFields,
    }),
  ])
  .meta({
    description:
      'Health checks: a list (all must pass in one probe round), or an object with `checks` and timing.',
  });

export const VERIFY_KINDS = ['file', 'manifest', 'signed'] as const;
const Sha256 = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/)
  .meta({ description: 'The expected SHA-256: 64 hex digits.' });
const ArtifactPath = (description: string) => z.string().min(1).optional().meta({ description });
export const VerifyItem = z
  .strictObject({
    file: ArtifactPath('A file whose SHA-256 must be `sha256`.'),
    manifest: ArtifactPath(
      'A `sha256sum` file (paths relative to it): it must hash to `sha256`, and every file it lists must match.',
    ),
    signed: ArtifactPath('A file with an OpenSSH signature, checked with `ssh-keygen -Y verify`.'),
    sha256: Sha256.optional(),
    signature: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'The signature of `signed`. Default `<signed>.sig`.' }),
    allowed_signers: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'The allowed_signers file `ssh-keygen -Y verify` trusts (`signed` only).' }),
    identity: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'The signer identity, as in allowed_signers (`signed` only).' }),
    namespace: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'The signature namespace. Default "file".', default: 'file' }),
  })
  .meta({
    description:
      'One artifact checked before every start (SPEC section 7): exactly one of `file` (with `sha256`), `manifest` (with `sha256`), `signed` (with `allowed_signers` and `identity`).',
  });
export const Verify = z.array(VerifyItem).meta({
  description:
    "Artifacts checked on the service's host before every start attempt, and for a service already healthy.",
});

const inheritable = {
  timeout: Duration.optional().meta({
    description: 'Deadline for one service: start plus becoming healthy. Default 10m.',
    default: '10m',
  }),
  retries: Count(0, 'Extra attempts of the start command after a failure. Default 0.')
    .optional()
    .meta({ default: 0 }),
  retry_delay: Duration.optional().meta({
    description: 'Pause before a retry of the start command. Default 1s.',
    default: '1s',
  }),
  env: Env.optional(),
  cwd: z.string().min(1).optional().meta({
    description:
      "Working directory of the commands; relative paths are relative to the plan file's directory.",
  }),
  verify: Verify.optional(),
};

export const Defaults = z.strictObject({
  ...inheritable,
  health: HealthTiming.optional().meta({ description: 'Health timing every service inherits.' }),
});

/**
 * Approver names appear in file names of the approvals inbox (src/run/state/approvals-inbox.ts):
 * what a login name or an e-mail address holds, never a `/` nor a leading dot.
 */
export const APPROVER_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,63}$';

const ApproverName = z
  .string()
  .regex(new RegExp(APPROVER_PATTERN))
  .meta({ description: 'An approver: letters, digits, `_`, `.`, `@`, `+`, `-`; at most 64 characters.' });

/** SPEC section 9: how many distinct people must approve a stage, which ones, and how. */
export const ApprovalRule = z.strictObject({
  approvers: Count(1, 'How many distinct people must approve. Default 1.').optional().meta({ default: 1 }),
  from: z
    .array(ApproverName)
    .optional()
    .meta({ description: 'Only these names count; at least `approvers` of them.' }),
  signed: z.boolean().optional().meta({
    description: 'Each approval is an OpenSSH signature (`restore approve --sign-with`).',
    default: false,
  }),
  allowed_signers: z.string().min(1).optional().meta({
    description:
      "ssh-keygen allowed_signers file the signatures are checked against; required with `signed: true`; relative to the plan file's directory.",
  }),
});

export const Stage = z.strictObject({
  name: Name,
  description: z.string().optional().meta({ description: 'What the stage brings back, for people.' }),
  approval: z.union([z.boolean(), ApprovalRule]).optional().meta({
    description:
      'Ask a human before this stage starts: true (one approver), or who and how many must approve. Default false.',
    default: false,
  }),
  concurrency: Count(1, 'At most this many services of the stage in flight at once.').optional(),
  rto: Rto('the longest from the stage starting (after its approval) to its last service settled healthy'),
  max_failures: z
    .union([z.int().min(0).max(1_000_000), z.string().regex(new RegExp(PERCENT_PATTERN))])
    .optional()
    .meta({
      description:
        'Failures of critical services of the stage tolerated before one halts the run: a count, or "p%" of the stage\'s services (rounded down). Default 0.',
      default: 0,
    }),
});

const SshOptionValue = z.union([z.string(), z.number(), z.boolean()]);

export const Host = z.strictObject({
  address: z.string().min(1).meta({ description: 'Host name or IP address to connect to.' }),
  user: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Remote user; default: ssh decides (ssh_config, $USER).' }),
  port: z.int().min(1).max(65535).optional().meta({ description: 'SSH port. Default 22.', default: 22 }),
  identity_file: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Private key file; `~/` is the home directory of the user running restore.' }),
  concurrency: Count(1, 'At most this many services of this host in flight at once.').optional(),
  ssh_options: z.record(z.string().min(1), SshOptionValue).optional().meta({
    description:
      'ssh_config options passed as `-o Key=Value`, e.g. { StrictHostKeyChecking: yes }. `ControlMaster: no` turns connection reuse off.',
  }),
});

export const DEPENDENCY_CONDITIONS = ['healthy', 'started'] as const;
export type DependencyCondition = (typeof DEPENDENCY_CONDITIONS)[number];

/** SPEC section 11: a dependency with a condition, and whether the dependent may go without it. */
export const DependencyObject = z.strictObject({
  service: z.string().meta({ description: 'The service depended on.' }),
  condition: z.enum(DEPENDENCY_CONDITIONS).optional().meta({
    description:
      '`healthy`: wait until it is healthy; `started`: go once its start command has succeeded. Default healthy.',
    default: 'healthy',
  }),
  required: z.boolean().optional().meta({
    description:
      'Default true; false: if it fails or is blocked, start anyway and record a warning (`service.warning`).',
    default: true,
  }),
});

export const Dependency = z.union([z.string(), DependencyObject]).meta({
  description:
    'A service name (wait until it is healthy), or an object with `service`, `condition`, `required`.',
});

export const Service = z.strictObject({
  host: z
    .string()
    .optional()
    .meta({ description: 'Name of a host under `hosts:`; its commands and exec checks run there over SSH.' }),
  stage: z
    .string()
    .optional()
    .meta({ description: 'Required when stages are declared, forbidden otherwise.' }),
  description: z.string().optional().meta({ description: 'What the service is, for people.' }),
  depends_on: z.array(Dependency).optional().meta({
    description:
      'Services this one waits for: names (until healthy), or objects with a `condition` and `required`.',
  }),
  critical: z
    .boolean()
    .optional()
    .meta({ description: 'Default true; false means its failure does not halt the run.', default: true }),
  skip_if_healthy: z.boolean().optional().meta({
    description: 'Default true: one probe round first, and a healthy service is not started.',
    default: true,
  }),
  start: StartCommand.optional(),
  stop: Command.optional().meta({
    description: 'How to stop the service (rollback, `restore down`); a daemon without one gets SIGTERM.',
  }),
  health: Health.optional(),
  rto: Rto('the longest from its first start attempt to healthy'),
  ...inheritable,
});

/**
 * One notification sink (SPEC section 12): exactly one of `webhook` and `slack`. Event names are
 * checked against the journal's when the plan resolves (src/plan/notify.ts), so that the list
 * has one source, the journal's.
 */
export const NotifySink = z
  .strictObject({
    webhook: z.string().min(1).optional().meta({
      description:
        'An http(s) URL that gets a JSON POST of each event (redacted). Treated as a secret; ${NAME:-} unset turns the sink off.',
    }),
    slack: z.string().min(1).optional().meta({
      description:
        'A Slack incoming-webhook URL that gets a readable channel message. Treated as a secret; ${NAME:-} unset turns the sink off.',
    }),
    events: z.array(z.string()).min(1).optional().meta({
      description:
        'Journal event names to send (docs/journal.md). Default: run.started, run.resumed, stage.started, stage.finished, stage.waiting-approval, run.awaiting-approval, service.failed, run.interrupted, run.finished.',
    }),
    headers: z.record(z.string().min(1), z.string()).optional().meta({
      description: 'Request headers of a webhook; values may use ${NAME} and are treated as secrets.',
    }),
  })
  .meta({
    description: 'A notification sink: exactly one of `webhook` and `slack`.',
    minProperties: 1,
  });

export const Plan = z
  .strictObject({
    version: described(z.literal(1).register(leafKinds, { kind: 'version' }), 'The plan format version: 1.'),
    name: described(Name, 'The plan name; it names the state directory and appears in every output.'),
    description: z.string().optional().meta({ description: 'What the plan restores, for people.' }),
    secrets: z
      .array(EnvName)
      .optional()
      .meta({ description: 'Environment variables whose values must never appear in any output.' }),
    defaults: Defaults.optional().meta({
      description: 'Settings every service inherits (a service overrides them).',
    }),
    stages: z.array(Stage).min(1).optional().meta({
      description:
        'Ordered phases, run one after another; without them, stages are computed from dependencies.',
    }),
    hosts: z
      .record(Name, Host)
      .optional()
      .meta({ description: 'Remote hosts reached with the system OpenSSH client (SPEC section 6).' }),
    rto: Rto(
      'the longest from the run starting to its last service healthy, approval waits included (`report` shows them apart)',
    ),
    notify: z.array(NotifySink).optional().meta({
      description:
        'Where to tell people about the run (SPEC section 12): webhooks and Slack; delivery never slows, fails or blocks the run.',
    }),
    services: z
      .record(Name, Service)
      .refine((services) => Object.keys(services).length > 0, {
        message: 'a plan needs at least one service',
      })
      .meta({ minProperties: 1, description: 'The services to restore, by name; at least one.' }),
  })
  .meta({
    title: 'restore plan',
    description: 'A restoration plan for `restore` (version 1).',
  });

export type RawPlan = z.infer<typeof Plan>;
export type RawService = z.infer<typeof Service>;
export type RawHost = z.infer<typeof Host>;
export type RawCommand = z.infer<typeof Command>;
export type RawStartCommand = z.infer<typeof StartCommand>;
export type RawCheck = z.infer<typeof Check>;
export type RawHealth = z.infer<typeof Health>;
export type RawHealthTiming = z.infer<typeof HealthTiming>;
export type RawEnv = z.infer<typeof Env>;
export type RawVerifyItem = z.infer<typeof VerifyItem>;
export type RawDependency = z.infer<typeof Dependency>;
export type RawNotifySink = z.infer<typeof NotifySink>;

export type SchemaDraft = '07' | '2020-12';

/**
 * The plan format as JSON Schema, for `restore schema` and editors: draft-07 by default (what
 * yaml-language-server supports fully), or 2020-12.
 */
export function planJsonSchema(draft: SchemaDraft = '07'): Record<string, unknown> {
  return z.toJSONSchema(Plan, {
    target: draft === '07' ? 'draft-07' : 'draft-2020-12',
    io: 'input',
  }) as Record<string, unknown>;
}
