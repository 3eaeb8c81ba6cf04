import { DEFAULT_NOTIFY_EVENTS, NOTIFY_EVENTS } from '../notify/events.js';
import { REDACTED } from '../run/redact.js';
import { closest } from '../util/closest.js';
import { parseTemplate } from './interpolate.js';
import type { PathSegment } from './locate.js';
import type { ResolvedNotifySink } from './model.js';
import { type ResolveContext, resolveText } from './resolve.js';
import type { RawNotifySink } from './schema.js';

const KINDS = ['webhook', 'slack'] as const;

/**
 * `notify:` resolved (SPEC section 12): exactly one of `webhook`/`slack` per sink, an http(s) URL,
 * journal event names, variables substituted in the URL and the headers. A list read leniently
 * from an invalid plan may have holes; each sink keeps its index, so diagnostics point at it.
 */
export function resolveNotify(
  sinks: readonly (RawNotifySink | undefined)[],
  ctx: ResolveContext,
): { sinks: ResolvedNotifySink[]; secrets: string[] } {
  const out: ResolvedNotifySink[] = [];
  const secrets: string[] = [];
  sinks.forEach((raw, index) => {
    if (raw === undefined) return;
    const sink = resolveSink(['notify', index], raw, ctx);
    if (!sink) return;
    out.push(sink);
    // Each whole value, and each variable in it on its own: a token written as
    // "Bearer ${HOOK_TOKEN}" is hidden where a command prints the token alone.
    secrets.push(sink.url, ...Object.values(sink.headers));
    for (const written of [raw.webhook, raw.slack, ...Object.values(raw.headers ?? {})])
      if (written !== undefined) secrets.push(...variableValues(written, ctx));
  });
  return { sinks: out, secrets: secrets.filter((value) => value !== '') };
}

/** The values of the variables a string uses, as set. */
function variableValues(written: string, ctx: ResolveContext): string[] {
  if (!written.includes('$')) return [];
  const template = parseTemplate(written);
  if (!template.ok) return [];
  return template.value.flatMap((part) => {
    const value = part.kind === 'variable' ? ctx.lookup(part.name) : undefined;
    return value ? [value] : [];
  });
}

function resolveSink(
  path: PathSegment[],
  raw: RawNotifySink,
  ctx: ResolveContext,
): ResolvedNotifySink | undefined {
  const kinds = KINDS.filter((kind) => raw[kind] !== undefined);
  if (kinds.length !== 1) {
    ctx.report(
      path,
      'invalid-value',
      kinds.length === 0
        ? 'a notification sink needs one of webhook or slack'
        : 'a notification sink holds exactly one of webhook or slack; this one has both',
      kinds.length === 0
        ? 'for example `- webhook: https://hooks.example.com/restore`'
        : 'write each as its own list item',
    );
    return undefined;
  }
  const kind = kinds[0]!;
  const written = raw[kind]!;
  const url = resolveText([...path, kind], written, ctx);
  // `${NAME:-}` with NAME unset turns the sink off: a plan shared by people with and without a
  // receiver (the demo) says so without a second copy of itself.
  if (url !== '') checkUrl([...path, kind], url, ctx);
  const headers: Record<string, string> = {};
  if (raw.headers !== undefined && kind === 'slack') {
    ctx.report(
      [...path, 'headers'],
      'invalid-value',
      'a Slack incoming webhook takes no headers: its URL is the credential',
      'use `webhook:` for a receiver that needs headers',
    );
  }
  for (const [name, value] of Object.entries(raw.headers ?? {})) {
    headers[name] = resolveText([...path, 'headers', name], value, ctx);
  }
  const events = raw.events ?? [...DEFAULT_NOTIFY_EVENTS];
  events.forEach((event, index) => {
    checkEvent([...path, 'events', index], event, ctx);
  });
  return { kind, url, events: [...new Set(events)], headers };
}

function checkUrl(path: PathSegment[], url: string, ctx: ResolveContext): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  // The URL is a credential: the message names its scheme at most, never the URL.
  if (!parsed) {
    ctx.report(path, 'invalid-value', 'not a URL', 'for example "https://hooks.example.com/restore"');
  } else if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    ctx.report(
      path,
      'invalid-value',
      `notifications go over http:// or https://, not ${parsed.protocol}//`,
      'for example "https://hooks.example.com/restore"',
    );
  }
}

function checkEvent(path: PathSegment[], event: string, ctx: ResolveContext): void {
  if (NOTIFY_EVENTS.includes(event)) return;
  if (event === 'notify.failed') {
    ctx.report(
      path,
      'invalid-value',
      'notify.failed is not sent to sinks: it tells of a notification that did not arrive',
      'it is in the journal and the run log',
    );
    return;
  }
  const guess = closest(event, NOTIFY_EVENTS);
  ctx.report(
    path,
    'invalid-value',
    `"${event}" is not a journal event name`,
    guess ? `did you mean "${guess}"?` : `one of: ${NOTIFY_EVENTS.join(', ')}`,
  );
}

/** The sinks as `plan` shows them: a URL's origin only, and no header value. */
export function displayNotify(sinks: readonly ResolvedNotifySink[]): ResolvedNotifySink[] {
  return sinks.map((sink) => ({
    ...sink,
    url: sink.url === '' ? '' : `${originOf(sink.url)}/${REDACTED}`,
    headers: Object.fromEntries(Object.keys(sink.headers).map((name) => [name, REDACTED])),
  }));
}

/** A URL's scheme, host and port: what may be shown of a webhook URL. */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(not a URL)';
  }
}
