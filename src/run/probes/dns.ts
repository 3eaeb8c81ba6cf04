import { Resolver } from 'node:dns';
import { isIPv6 } from 'node:net';
import type { DnsCheck } from '../../plan/model.js';
import { oneLine, probeOnce } from './settle.js';
import type { CheckResult } from './types.js';

/** How many answers a detail lists before "and N more". */
const MAX_LISTED = 8;

/**
 * A `dns` check (SPEC section 11): `name` resolves to at least one `type` record, and when `expect`
 * is given, to exactly those values in any order (each compared as written in docs/plan-format.md:
 * names without case or trailing dot, IPv6 in its short form). Asks `server` when given, else the
 * system's resolvers; bounded by `timeoutMs` and `signal`, the query cancelled with it.
 */
export function dnsCheck(
  check: DnsCheck,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<CheckResult> {
  const target = `${check.type} ${check.name}${check.server === null ? '' : ` @${check.server}`}`;
  return probeOnce('dns', target, options, (done) => {
    // One try, no retries: the round is the retry, and its timeout the deadline.
    const resolver = new Resolver({ timeout: options.timeoutMs, tries: 1 });
    // An address that is not one throws here; probeOnce reports it (validate refuses it first).
    if (check.server !== null) resolver.setServers([check.server]);
    query(resolver, check, (error, answers) => {
      if (error) return done(false, lookupFailure(error, check));
      const got = [...new Set(answers.map((answer) => normalize(check.type, answer)))].sort();
      if (check.expect === null) {
        if (got.length === 0) return done(false, `expected ${check.type} records, got none`);
        return done(true, list(got));
      }
      const wanted = [...new Set(check.expect.map((value) => normalize(check.type, value)))].sort();
      if (wanted.length === got.length && wanted.every((value, index) => value === got[index]))
        return done(true, list(got));
      done(false, `expected ${list(wanted)}, got ${got.length === 0 ? 'no records' : list(got)}`);
    });
    return { destroy: () => resolver.cancel() };
  });
}

type Answers = (error: NodeJS.ErrnoException | null, answers: string[]) => void;

/** One query of the check's type, each answer written as one string. */
function query(resolver: Resolver, check: DnsCheck, then: Answers): void {
  const name = check.name;
  const strings = (error: NodeJS.ErrnoException | null, answers: string[]) => then(error, answers ?? []);
  switch (check.type) {
    case 'A':
      return void resolver.resolve4(name, strings);
    case 'AAAA':
      return void resolver.resolve6(name, strings);
    case 'CNAME':
      return void resolver.resolveCname(name, strings);
    case 'NS':
      return void resolver.resolveNs(name, strings);
    case 'MX':
      return void resolver.resolveMx(name, (error, answers) =>
        then(
          error,
          (answers ?? []).map((mx) => `${mx.priority} ${mx.exchange}`),
        ),
      );
    case 'TXT':
      // A TXT record may come in several strings of 255 bytes at most: one value is their join.
      return void resolver.resolveTxt(name, (error, answers) =>
        then(
          error,
          (answers ?? []).map((chunks) => chunks.join('')),
        ),
      );
    case 'SRV':
      return void resolver.resolveSrv(name, (error, answers) =>
        then(
          error,
          (answers ?? []).map((srv) => `${srv.priority} ${srv.weight} ${srv.port} ${srv.name}`),
        ),
      );
  }
}

/** A value as compared: host names without case or trailing dot, IPv6 in its canonical form. */
export function normalize(type: DnsCheck['type'], value: string): string {
  const text = value.trim();
  switch (type) {
    case 'TXT':
      return text;
    case 'A':
      return text;
    case 'AAAA':
      return isIPv6(text) ? new URL(`http://[${text}]`).hostname.slice(1, -1) : text.toLowerCase();
    default:
      // Names (CNAME, NS) and records that end with one (MX, SRV).
      return text.toLowerCase().replace(/\s+/g, ' ').replace(/\.$/, '');
  }
}

/** c-ares's error codes in words, with the question that was asked. */
function lookupFailure(error: NodeJS.ErrnoException, check: DnsCheck): string {
  const from = check.server === null ? '' : ` from ${check.server}`;
  switch (error.code) {
    case 'ENOTFOUND':
      return `expected ${check.type} records of ${check.name}, got NXDOMAIN (no such name)${from}`;
    case 'ENODATA':
      return `expected ${check.type} records of ${check.name}, got none (the name has no ${check.type} record)${from}`;
    case 'ETIMEOUT':
      return `expected ${check.type} records of ${check.name}, got no answer${from}`;
    case 'ECONNREFUSED':
      return `connection refused by DNS server${from}`;
    case 'ESERVFAIL':
      return `expected ${check.type} records of ${check.name}, got SERVFAIL${from}`;
    case 'EREFUSED':
      return `expected ${check.type} records of ${check.name}, got REFUSED${from}`;
    case 'ECANCELLED':
      return 'cancelled';
    default:
      return oneLine(`${error.code ?? 'error'}: ${error.message}`);
  }
}

function list(values: string[]): string {
  const shown = values.slice(0, MAX_LISTED).join(', ');
  return values.length > MAX_LISTED ? `${shown} and ${values.length - MAX_LISTED} more` : shown;
}
