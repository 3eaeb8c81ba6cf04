import type { Result } from '../util/result.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Where a run's trace goes, and what said so (for the messages). */
export interface OtlpTarget {
  /** The OTLP/HTTP traces URL (`.../v1/traces`). */
  url: string;
  /** `--otlp-endpoint`, or the environment variable it came from. */
  from: string;
}

/** The OTLP/HTTP path of traces, appended to a base endpoint (OTLP exporter specification). */
const TRACES_PATH = 'v1/traces';

/**
 * Where to send the trace, if anywhere. Precedence: `--otlp-endpoint` (a base URL gets
 * `/v1/traces`, a URL with a path is used as is), then OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (as
 * is), then OTEL_EXPORTER_OTLP_ENDPOINT (+ `/v1/traces`), as the OpenTelemetry exporter
 * specification orders them. The variables count only while OTEL_SDK_DISABLED is not `true` and
 * OTEL_TRACES_EXPORTER does not say `none`: an environment that turned OpenTelemetry off for
 * every program keeps it off here; the flag, asked for on this command line, wins over both.
 * Undefined: nothing is loaded or sent. An error: a URL that is not http(s).
 */
export function otlpTarget(flag: string | undefined, env: Env): Result<OtlpTarget | undefined, string> {
  if (flag !== undefined) return parsed(flag, '--otlp-endpoint', endsInPath(flag) ? 'as-is' : 'base');
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return { ok: true, value: undefined };
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((name) => name.trim().toLowerCase());
  if (exporters.includes('none')) return { ok: true, value: undefined };
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return parsed(traces, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'as-is');
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (base) return parsed(base, 'OTEL_EXPORTER_OTLP_ENDPOINT', 'base');
  return { ok: true, value: undefined };
}

function endsInPath(url: string): boolean {
  try {
    return !['', '/'].includes(new URL(url).pathname);
  } catch {
    return false;
  }
}

function parsed(text: string, from: string, how: 'base' | 'as-is'): Result<OtlpTarget, string> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return {
      ok: false,
      error: `${from} takes an http or https URL such as http://127.0.0.1:4318, not "${text}"`,
    };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return {
      ok: false,
      error: `${from} takes an http or https URL (OTLP over HTTP), not a ${url.protocol.replace(/:$/, '')} URL`,
    };
  }
  if (how === 'base') url.pathname = `${url.pathname.replace(/\/+$/, '')}/${TRACES_PATH}`;
  return { ok: true, value: { url: url.toString(), from } };
}

/** The URL as messages show it: without user and password, query or fragment (they may hold a token). */
export function shownUrl(url: string): string {
  const shown = new URL(url);
  return `${shown.origin}${shown.pathname}`;
}
