import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { checkServerIdentity, connect, type PeerCertificate } from 'node:tls';
import type { TlsCheck } from '../../plan/model.js';
import { formatDuration } from '../../util/duration.js';
import { hostPort } from '../../util/host-port.js';
import { networkFailure, oneLine, probeOnce } from './settle.js';
import type { CheckResult } from './types.js';

const DAY_MS = 86_400_000;
/** A `ca` file larger than this is not a CA bundle (the system's whole bundle is about 200 KiB). */
const MAX_CA_BYTES = 4 * 1024 * 1024;
/** Handshake failures that mean the port speaks something else than TLS. */
const NOT_TLS =
  /wrong version number|packet length too long|unknown protocol|http request|record layer failure/i;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/** A `ca` file's certificates, or why it cannot be used. */
export type CaFile = { ok: true; pem: string } | { ok: false; detail: string };

/**
 * Reads a `ca` file on this machine (a relative path is the plan directory's): it must hold at
 * least one PEM certificate. Used by the check and by `restore check`. Never throws.
 */
export async function readCaFile(path: string, planDir: string): Promise<CaFile> {
  const full = isAbsolute(path) ? path : resolve(planDir, path);
  let bytes: Buffer;
  try {
    bytes = await readFile(full);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : (code ?? 'unreadable');
    return { ok: false, detail: `ca file ${path}: ${why}` };
  }
  if (bytes.length > MAX_CA_BYTES) return { ok: false, detail: `ca file ${path}: larger than 4 MiB` };
  const text = bytes.toString('utf8');
  if (!PEM_CERTIFICATE.test(text))
    return { ok: false, detail: `ca file ${path} is not PEM: no -----BEGIN CERTIFICATE----- block` };
  return { ok: true, pem: text };
}

/**
 * A `tls` check (SPEC section 11): the handshake succeeds, the chain is trusted (system roots or
 * `ca`), the certificate holds `servername`, and it stays valid `min_days` longer. The chain is
 * judged after the handshake rather than by node refusing it, so that the detail can say which of
 * these failed and what the certificate holds. Bounded by `timeoutMs` and `signal`; never throws.
 */
export async function tlsCheck(
  check: TlsCheck,
  options: { timeoutMs: number; signal?: AbortSignal; planDir: string; now?: () => number },
): Promise<CheckResult> {
  const target = hostPort(check.host, check.port);
  const started = performance.now();
  const ca = check.ca === null ? null : await readCaFile(check.ca, options.planDir);
  const left = Math.max(1, options.timeoutMs - (performance.now() - started));
  let connected = false;
  const limits = {
    timeoutMs: left,
    ...(options.signal ? { signal: options.signal } : {}),
    timeoutDetail: () =>
      connected
        ? `not TLS? the port accepted a connection but no TLS handshake finished within ${formatDuration(options.timeoutMs)}`
        : `timed out after ${formatDuration(options.timeoutMs)}`,
  };
  const result = await probeOnce('tls', target, limits, (done) => {
    if (ca !== null && !ca.ok) {
      done(false, ca.detail);
      return undefined;
    }
    const socket = connect({
      host: check.host,
      port: check.port,
      // SNI carries names only: an address as servername is refused by node (DEP0123).
      ...(isIP(check.servername) === 0 ? { servername: check.servername } : {}),
      ...(ca?.ok ? { ca: ca.pem } : {}),
      rejectUnauthorized: false,
      // The name is judged in `judge`, after the chain, so that each failure gets its own words.
      checkServerIdentity: () => undefined,
    });
    socket.once('connect', () => {
      connected = true;
    });
    socket.once('secureConnect', () => {
      // node types it an Error; at run time it is the OpenSSL verify code, a string.
      const chainError = socket.authorizationError as unknown as string | Error | null | undefined;
      try {
        done(...judge(check, socket.getPeerCertificate(), chainError, options.now?.() ?? Date.now()));
      } catch (error) {
        done(false, `unreadable certificate: ${oneLine(String((error as Error).message))}`);
      }
    });
    socket.once('error', (error: NodeJS.ErrnoException) => done(false, handshakeFailure(error, connected)));
    return socket;
  });
  return { ...result, durationMs: Math.round(performance.now() - started) };
}

/** The certificate against the check: expiry, chain, name, days left, in that order. */
export function judge(
  check: Pick<TlsCheck, 'servername' | 'min_days' | 'ca'>,
  cert: PeerCertificate,
  chainError: string | Error | null | undefined,
  now: number,
): [boolean, string] {
  if (!cert || Object.keys(cert).length === 0) return [false, 'the server sent no certificate'];
  const notAfter = Date.parse(cert.valid_to);
  const notBefore = Date.parse(cert.valid_from);
  const subject = subjectOf(cert);
  if (notAfter <= now) {
    const days = Math.floor((now - notAfter) / DAY_MS);
    return [false, `certificate of ${subject} expired ${agoText(days)} (${isoDay(notAfter)})`];
  }
  if (notBefore > now) return [false, `certificate of ${subject} is not valid before ${isoDay(notBefore)}`];
  if (chainError) return [false, chainFailure(chainError, subject, check.ca)];
  const mismatch = checkServerIdentity(check.servername, cert);
  if (mismatch) {
    return [false, `name mismatch: expected ${check.servername}, the certificate holds ${namesOf(cert)}`];
  }
  const daysLeft = Math.floor((notAfter - now) / DAY_MS);
  if (daysLeft < check.min_days) {
    return [
      false,
      `certificate of ${subject} expires in ${daysLeft} day${daysLeft === 1 ? '' : 's'} (${isoDay(notAfter)}), expected at least ${check.min_days}`,
    ];
  }
  return [true, `valid for ${daysLeft} more day${daysLeft === 1 ? '' : 's'}, ${subject}`];
}

/** node's chain verdict in words, with what to do about it. */
function chainFailure(error: string | Error, subject: string, ca: string | null): string {
  const code = typeof error === 'string' ? error : (error as NodeJS.ErrnoException).code;
  const trust = ca === null ? 'the system roots' : `ca ${ca}`;
  switch (code) {
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return `self-signed certificate (${subject}), not trusted by ${trust}`;
    case 'SELF_SIGNED_CERT_IN_CHAIN':
      return `the chain of ${subject} ends at a self-signed root not trusted by ${trust}`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return `the issuer of ${subject} is not trusted by ${trust}`;
    default:
      return `untrusted chain of ${subject}: ${oneLine(typeof error === 'string' ? error : String(error.message))}`;
  }
}

/** A failure before the handshake finished: a plain-TCP port reads as "not TLS". */
function handshakeFailure(error: NodeJS.ErrnoException, connected: boolean): string {
  const message = error.message ?? '';
  // OpenSSL's words only: its message also carries an error queue and a source path.
  const reason = NOT_TLS.exec(message);
  if (reason)
    return `not TLS: the server answered the handshake with something else (${reason[0].toLowerCase()})`;
  if (connected && (error.code === 'ECONNRESET' || /disconnected before secure TLS/i.test(message)))
    return 'not TLS: the connection closed during the TLS handshake';
  return networkFailure(error);
}

function subjectOf(cert: PeerCertificate): string {
  const cn = cert.subject?.CN;
  return cn ? `CN=${Array.isArray(cn) ? cn.join(',') : cn}` : 'the server';
}

/** "DNS:a.example, IP Address:127.0.0.1" as "a.example, 127.0.0.1"; the CN when there are no names. */
function namesOf(cert: PeerCertificate): string {
  const names = (cert.subjectaltname ?? '')
    .split(', ')
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ''))
    .filter((entry) => entry !== '');
  if (names.length > 0) return names.join(', ');
  return cert.subject?.CN ? `only CN=${cert.subject.CN}` : 'no names';
}

function agoText(days: number): string {
  return days === 0 ? 'today' : `${days} day${days === 1 ? '' : 's'} ago`;
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
