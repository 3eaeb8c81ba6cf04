import { createServer, type IncomingHttpHeaders } from 'node:http';
import { afterEach } from 'vitest';

/** A span as the OTLP/HTTP JSON encoding carries it, its attributes flattened. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startMs: number;
  endMs: number;
  status: { code?: number; message?: string };
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  resource: Record<string, unknown>;
}

export interface Receiver {
  port: number;
  /** Each request: its path, content type and headers. */
  requests: { path: string; contentType: string | undefined; headers: IncomingHttpHeaders }[];
  spans: ReceivedSpan[];
}

interface AnyValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
}
type KeyValue = { key: string; value: AnyValue };

const anyValue = (value: AnyValue): unknown =>
  value.arrayValue
    ? (value.arrayValue.values ?? []).map(anyValue)
    : (value.stringValue ??
      (value.intValue !== undefined ? Number(value.intValue) : (value.boolValue ?? value.doubleValue)));
const flat = (attributes: KeyValue[] | undefined) =>
  Object.fromEntries((attributes ?? []).map((kv) => [kv.key, anyValue(kv.value)]));
const ms = (nanos: string) => Number(BigInt(nanos) / 1_000_000n);

/**
 * A real OTLP/HTTP receiver on 127.0.0.1 (a collector's `/v1/traces`), for the tests: it accepts
 * what the SDK's exporter POSTs, JSON only (any other encoding fails the test), and keeps the
 * spans. Closed after each test.
 */
export function useOtlpReceivers(): () => Promise<Receiver> {
  const servers: ReturnType<typeof createServer>[] = [];
  afterEach(async () => {
    await Promise.all(
      servers.splice(0).map((server) => {
        server.closeAllConnections();
        return new Promise((resolve) => server.close(resolve));
      }),
    );
  });
  return async () => {
    const receiver: Receiver = { port: 0, requests: [], spans: [] };
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        receiver.requests.push({
          path: req.url ?? '',
          contentType: req.headers['content-type'],
          headers: req.headers,
        });
        if (req.method !== 'POST' || req.headers['content-type'] !== 'application/json') {
          res.writeHead(415).end();
          return;
        }
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: {
            resource?: { attributes?: KeyValue[] };
            scopeSpans: {
              spans: (Omit<ReceivedSpan, 'startMs' | 'endMs' | 'attributes' | 'events' | 'resource'> & {
                startTimeUnixNano: string;
                endTimeUnixNano: string;
                attributes?: KeyValue[];
                events?: { name: string; attributes?: KeyValue[] }[];
              })[];
            }[];
          }[];
        };
        for (const resourceSpans of body.resourceSpans) {
          const resource = flat(resourceSpans.resource?.attributes);
          for (const scope of resourceSpans.scopeSpans) {
            for (const span of scope.spans) {
              receiver.spans.push({
                traceId: span.traceId,
                spanId: span.spanId,
                ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
                name: span.name,
                startMs: ms(span.startTimeUnixNano),
                endMs: ms(span.endTimeUnixNano),
                status: span.status ?? {},
                attributes: flat(span.attributes),
                events: (span.events ?? []).map((e) => ({ name: e.name, attributes: flat(e.attributes) })),
                resource,
              });
            }
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    receiver.port = (server.address() as { port: number }).port;
    return receiver;
  };
}
