import { isIP } from 'node:net';
import type { PathSegment } from './locate.js';
import { BUILTIN, type DnsCheck, type GrpcCheck, type ResolvedHost, type TlsCheck } from './model.js';
import type { Report } from './resolve.js';
import type { RawCheck } from './schema.js';

/** What resolving a network check needs from the resolver: its text and port rules, its report. */
export interface NetTools {
  text: (path: readonly PathSegment[], value: string) => string;
  port: (path: PathSegment[], written: string) => number;
  report: Report;
  mode: 'real' | 'display';
  /** The service's host: a check without `host` goes to its address (SPEC section 11). */
  host: ResolvedHost | null;
}

/** The `grpc`, `tls` or `dns` check of a list item, or undefined when it holds another kind. */
export function resolveNetCheck(
  path: PathSegment[],
  item: RawCheck,
  tools: NetTools,
): GrpcCheck | TlsCheck | DnsCheck | undefined {
  if (item.grpc) {
    const at = [...path, 'grpc'];
    return {
      kind: 'grpc',
      host: hostOf(at, item.grpc.host, tools),
      port: portOf(at, item.grpc.port, tools),
      service: item.grpc.service === undefined ? '' : tools.text([...at, 'service'], item.grpc.service),
      tls: item.grpc.tls ?? false,
    };
  }
  if (item.tls) {
    const at = [...path, 'tls'];
    const host = hostOf(at, item.tls.host, tools);
    return {
      kind: 'tls',
      host,
      port: portOf(at, item.tls.port, tools),
      servername:
        item.tls.servername === undefined ? host : tools.text([...at, 'servername'], item.tls.servername),
      // Read when the check runs (and by `restore check`), never by validate: validate reads only the plan.
      ca: item.tls.ca === undefined ? null : tools.text([...at, 'ca'], item.tls.ca),
      min_days: item.tls.min_days ?? BUILTIN.tlsMinDays,
    };
  }
  if (item.dns) {
    const at = [...path, 'dns'];
    const server = item.dns.server === undefined ? null : tools.text([...at, 'server'], item.dns.server);
    if (server !== null && tools.mode === 'real' && !dnsServerAddress(server)) {
      tools.report(
        [...at, 'server'],
        'invalid-value',
        `${JSON.stringify(server)} is not a DNS server address`,
        'an IP address with an optional port: "10.0.0.2", "10.0.0.2:5353", "[::1]:53"',
      );
    }
    return {
      kind: 'dns',
      name: tools.text([...at, 'name'], item.dns.name),
      type: item.dns.type ?? BUILTIN.dnsType,
      expect: item.dns.expect?.map((value, index) => tools.text([...at, 'expect', index], value)) ?? null,
      server,
    };
  }
  return undefined;
}

function hostOf(at: PathSegment[], written: string | undefined, tools: NetTools): string {
  if (written !== undefined) return tools.text([...at, 'host'], written);
  return tools.host?.address ?? BUILTIN.tcpHost;
}

function portOf(at: PathSegment[], written: number | string, tools: NetTools): number {
  return typeof written === 'number' ? written : tools.port([...at, 'port'], written);
}

/**
 * Whether `server` is what node:dns's Resolver takes: an IP address, with an optional port
 * ("10.0.0.2:5353", "[::1]:53"). A name would need a resolver to find the resolver.
 */
export function dnsServerAddress(server: string): boolean {
  if (isIP(server) !== 0) return true;
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(server);
  if (bracketed) return isIP(bracketed[1]!) === 6 && validPort(bracketed[2]);
  const withPort = /^([^:]+):(\d{1,5})$/.exec(server);
  return withPort !== null && isIP(withPort[1]!) === 4 && validPort(withPort[2]);
}

function validPort(text: string | undefined): boolean {
  if (text === undefined) return true;
  const port = Number(text);
  return port >= 1 && port <= 65535;
}
