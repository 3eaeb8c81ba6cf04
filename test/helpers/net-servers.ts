import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { freePorts } from './ports.js';

/**
 * Real servers for the network probes (SPEC section 11), on 127.0.0.1: a gRPC server with the
 * standard health service, TLS servers with certificates made by openssl, a plain HTTP/1.1 or
 * TCP server, and dnsmasq. Each returns its port and a stop function; nothing is mocked.
 */

export interface Running {
  port: number;
  stop: () => Promise<void>;
}

/** grpc.health.v1 serving statuses by service name ("" is the server as a whole). */
export async function grpcHealthServer(statuses: Record<string, 1 | 2>): Promise<Running> {
  const grpc = await import('@grpc/grpc-js');
  const server = new grpc.Server();
  server.register(
    '/grpc.health.v1.Health/Check',
    (
      call: { request: Buffer },
      callback: (error: { code: number; details: string } | null, value?: Buffer) => void,
    ) => {
      // HealthCheckRequest: field 1, a string shorter than 128 bytes here (one length byte).
      const service = call.request.length === 0 ? '' : call.request.subarray(2).toString('utf8');
      const status = statuses[service];
      if (status === undefined) return callback({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      callback(null, Buffer.from([0x08, status]));
    },
    (value: Buffer) => value,
    (value: Buffer) => value,
    'unary',
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { port, stop: async () => server.forceShutdown() };
}

/** An HTTP/1.1 server answering 200 "ok": what a gRPC client meets on the wrong port. */
export async function httpServer(): Promise<Running> {
  const server: HttpServer = createHttpServer((_req, res) => res.end('ok'));
  return listening(server);
}

/** A TCP server that accepts and says nothing: a port that is open but not TLS. */
export async function silentTcpServer(): Promise<Running> {
  return listening(createNetServer(() => {}));
}

/** A TLS server presenting `cert` (PEM files made by `makeCertificates`). */
export async function tlsServer(key: string, cert: string): Promise<Running> {
  const server = createTlsServer({ key, cert }, (socket) => socket.end());
  // A client that rejects the certificate closes the connection: not an error for the server.
  server.on('tlsClientError', () => {});
  return listening(server);
}

async function listening(server: NetServer): Promise<Running> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface Pem {
  key: string;
  cert: string;
}

/** Certificates made by openssl in `dir`: a CA and the leaves a test asks for. */
export interface Certificates {
  /** Path of the CA's certificate (PEM). */
  caFile: string;
  /** Signed by the CA for 127.0.0.1 and localhost, valid 365 days. */
  good: Pem;
  /** Signed by the CA, valid 5 days. */
  expiring: Pem;
  /** Signed by the CA for other.example only. */
  wrongName: Pem;
  /** Self-signed for 127.0.0.1 and localhost. */
  selfSigned: Pem;
}

/** EC keys: an RSA key takes seconds to make on a loaded machine, P-256 a few milliseconds. */
const KEY = ['ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

export function makeCertificates(dir: string): Certificates {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const file = (name: string) => join(dir, name);
  openssl(
    'req',
    '-x509',
    '-newkey',
    ...KEY,
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '30',
    '-subj',
    '/CN=restore test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  const leaf = (name: string, cn: string, san: string, days: number): Pem => {
    openssl(
      'req',
      '-newkey',
      ...KEY,
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${cn}`,
    );
    writeFileSync(file(`${name}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`);
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      String(days),
      '-extfile',
      `${name}.ext`,
    );
    return {
      key: readFileSync(file(`${name}.key`), 'utf8'),
      cert: readFileSync(file(`${name}.pem`), 'utf8'),
    };
  };
  const good = leaf('good', '127.0.0.1', 'IP:127.0.0.1,DNS:localhost', 365);
  const expiring = leaf('expiring', '127.0.0.1', 'IP:127.0.0.1,DNS:localhost', 5);
  const wrongName = leaf('wrong', 'other.example', 'DNS:other.example', 365);
  openssl(
    'req',
    '-x509',
    '-newkey',
    ...KEY,
    '-nodes',
    '-keyout',
    'self.key',
    '-out',
    'self.pem',
    '-days',
    '365',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  );
  const selfSigned = {
    key: readFileSync(file('self.key'), 'utf8'),
    cert: readFileSync(file('self.pem'), 'utf8'),
  };
  return { caFile: file('ca.pem'), good, expiring, wrongName, selfSigned };
}

/**
 * dnsmasq on a free port of 127.0.0.1, answering only from `hosts` (an addn-hosts file in `dir`)
 * and the `records` given as dnsmasq options; anything else is NXDOMAIN (no upstream).
 */
export async function dnsmasq(dir: string, hosts: string, records: string[] = []): Promise<Running> {
  const [port] = await freePorts(1);
  const hostsFile = join(dir, 'hosts');
  writeFileSync(hostsFile, hosts);
  const child: ChildProcess = spawn(
    '/usr/sbin/dnsmasq',
    [
      '--no-daemon',
      `--port=${port}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      `--addn-hosts=${hostsFile}`,
      '--pid-file=',
      '--user=',
      '--conf-file=/dev/null',
      // Names under .test are answered here only: one it does not know is NXDOMAIN, not REFUSED.
      '--local=/test/',
      ...records,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Ready when it answers: a TCP connection to its DNS port opens (dnsmasq serves TCP too).
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dnsmasq exited: ${stderr}`);
    if (await opens(port!)) break;
    if (Date.now() > deadline) throw new Error(`dnsmasq did not listen: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port: port!,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function opens(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
