import type { GrpcCheck } from '../../plan/model.js';
import { hostPort } from '../../util/host-port.js';
import { oneLine, probeOnce } from './settle.js';
import type { CheckResult } from './types.js';

type Grpc = typeof import('@grpc/grpc-js');

/** grpc.health.v1.HealthCheckResponse.ServingStatus, by number. */
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;
const SERVING = 1;
const CHECK_METHOD = '/grpc.health.v1.Health/Check';

let loaded: Promise<Grpc> | undefined;

/**
 * grpc-js, loaded on the first grpc check (a plan without one, `--version` and `validate` never
 * load it). Its own log lines are silenced: they would reach stderr around the redacting io, and
 * whatever went wrong is the probe's result already.
 */
function grpcJs(): Promise<Grpc> {
  loaded ??= import('@grpc/grpc-js').then((grpc) => {
    grpc.setLogVerbosity(grpc.logVerbosity.NONE);
    quietServernameWarning();
    return grpc;
  });
  return loaded;
}

/**
 * grpc-js sends the target host as SNI even when it is an IP address (`grpc: { tls: true }` on
 * 127.0.0.1), and node then prints DEP0123 on stderr, around the redacting io, in the middle of a
 * run's output. restore's own tls check never sets an address as servername, so this one warning
 * can only come from grpc-js's channels: it alone is dropped; every other warning goes through.
 */
function quietServernameWarning(): void {
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const [type, code] = rest;
    const named = typeof type === 'object' && type !== null ? (type as { code?: string }).code : code;
    if (named === 'DEP0123') return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}

/**
 * A `grpc` check (SPEC section 11): the standard `grpc.health.v1.Health/Check` answers SERVING.
 * The two health messages are encoded here with a generic client rather than from the .proto:
 * each has one field, and loading a proto compiler for them would cost more than the probe.
 * Bounded by `timeoutMs` and `signal` (the module's first load counts); never throws, and the
 * channel it opened is closed with it.
 */
export async function grpcCheck(
  check: GrpcCheck,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<CheckResult> {
  const address = hostPort(check.host, check.port);
  const target = `${address}${check.service === '' ? '' : ` ${check.service}`}`;
  const started = performance.now();
  const grpc = await grpcJs();
  const left = Math.max(1, options.timeoutMs - (performance.now() - started));
  const result = await probeOnce('grpc', target, { ...options, timeoutMs: left }, (done) => {
    const client = new grpc.Client(
      address,
      check.tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(),
      {
        // A channel of its own, closed with the probe: no pooled connection outlives it.
        'grpc.use_local_subchannel_pool': 1,
        'grpc.enable_retries': 0,
        // Only the address is wanted from a name, not a service config from its TXT records.
        'grpc.service_config_disable_resolution': 1,
      },
    );
    const call = client.makeUnaryRequest(
      CHECK_METHOD,
      encodeRequest,
      decodeResponse,
      check.service,
      new grpc.Metadata(),
      { deadline: Date.now() + left },
      (error, status) => {
        if (error) return done(false, callFailure(grpc, error, check));
        const name = servingName(status ?? 0);
        if (status === SERVING) return done(true, 'SERVING');
        done(false, `expected SERVING, got ${name}`);
      },
    );
    return {
      destroy: () => {
        call.cancel();
        client.close();
      },
    };
  });
  return { ...result, durationMs: Math.round(performance.now() - started) };
}

/** A failed call in words, with what was expected: the health answer never came. */
function callFailure(
  grpc: Grpc,
  error: { code?: number; details?: string; message: string },
  check: GrpcCheck,
): string {
  const details = oneLine(error.details ?? error.message);
  switch (error.code) {
    case grpc.status.UNIMPLEMENTED:
      return 'expected SERVING, got UNIMPLEMENTED: the server has no grpc.health.v1.Health service';
    case grpc.status.NOT_FOUND:
      // The health protocol answers NOT_FOUND for a service it does not know.
      return `expected SERVING, got SERVICE_UNKNOWN: the server does not know service ${JSON.stringify(check.service)}`;
    case grpc.status.DEADLINE_EXCEEDED:
      return 'expected SERVING, got no answer before the deadline';
    case grpc.status.UNAVAILABLE:
      return `expected SERVING, got UNAVAILABLE: ${unavailable(details)}`;
    default: {
      const name =
        error.code === undefined ? 'an error' : (grpc.status[error.code] ?? `status ${error.code}`);
      return `expected SERVING, got ${name}: ${details}`;
    }
  }
}

/** Handshake failures that mean the port speaks something else than TLS. */
const NOT_TLS = /wrong version number|packet length too long|unknown protocol|http request/i;

/**
 * grpc-js's UNAVAILABLE details ("No connection established. Last error: ... (time). Resolution
 * note: ...") shortened to the cause people look for.
 */
export function unavailable(details: string): string {
  if (/ECONNREFUSED/.test(details)) return 'connection refused';
  if (/ENOTFOUND|EAI_AGAIN|Name resolution failed/i.test(details)) return 'no such host';
  if (/Protocol error/i.test(details)) return 'not a gRPC server (it does not speak HTTP/2)';
  const notTls = NOT_TLS.exec(details);
  if (notTls) return `not TLS (${notTls[0].toLowerCase()})`;
  const cause =
    /Last error: (?:Error: )?(.*?)(?: \(\d{4}-\d\d-\d\dT[^)]*\))?\.?(?: Resolution note:.*)?$/.exec(details);
  return cause?.[1] ? cause[1] : details;
}

function servingName(status: number): string {
  return SERVING_STATUS[status] ?? `status ${status}`;
}

/** HealthCheckRequest { string service = 1; }: empty when the service is "" (proto3 omits defaults). */
export function encodeRequest(service: string): Buffer {
  if (service === '') return Buffer.alloc(0);
  const bytes = Buffer.from(service, 'utf8');
  return Buffer.concat([Buffer.from([0x0a]), varint(bytes.length), bytes]);
}

/** HealthCheckResponse { ServingStatus status = 1; }: other fields, if a server sends any, are skipped. */
export function decodeResponse(buffer: Buffer): number {
  let offset = 0;
  let status = 0;
  const read = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      if (offset >= buffer.length) throw new Error('truncated HealthCheckResponse');
      const byte = buffer[offset++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
      shift += 7;
    }
  };
  while (offset < buffer.length) {
    const tag = read();
    const field = Math.floor(tag / 8);
    switch (tag & 7) {
      case 0: {
        const value = read();
        if (field === 1) status = value;
        break;
      }
      case 1:
        offset += 8;
        break;
      case 2: {
        // Read before adding: `offset += read()` would add to the offset from before the read.
        const length = read();
        offset += length;
        break;
      }
      case 5:
        offset += 4;
        break;
      default:
        throw new Error('malformed HealthCheckResponse');
    }
  }
  return status;
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}
