import { type ChildProcess, spawn } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { TcpCheck } from '../../src/plan/model.js';
import { tcpCheck } from '../../src/run/probes/tcp.js';
import { freePorts } from '../helpers/ports.js';
import { eventually } from '../helpers/processes.js';

const servers: Server[] = [];
const sockets = new Set<Socket>();
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A real listener that counts the connections it accepted and those still open. */
async function listener(host = '127.0.0.1') {
  const open = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted += 1;
    open.add(socket);
    sockets.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.resume();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as { port: number }).port,
    accepted: () => accepted,
    open: () => open.size,
  };
}

/**
 * A port whose connections hang: a child process listens with a backlog of 1 and then blocks its
 * event loop, so it never accepts; once its queue is filled, the kernel drops further SYNs and a
 * connect waits. (An unroutable address is no use here: a sandbox may answer for any address.)
 */
async function hangingPort(): Promise<number> {
  const script = `
    const server = require('node:net').createServer();
    server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      require('node:fs').writeSync(1, server.address().port + '\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (data: Buffer) => resolve(Number(String(data).trim())));
    child.once('exit', (code) => reject(new Error(`listener exited with ${code}`)));
  });
  // Fill the accept queue: connect until one connection does not complete.
  for (let i = 0; i < 20; i += 1) {
    const filler = connect({ host: '127.0.0.1', port });
    sockets.add(filler);
    filler.on('error', () => {});
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 300);
      filler.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!connected) return port;
  }
  throw new Error('could not fill the accept queue of the hanging listener');
}

const tcp = (port: number, host = '127.0.0.1'): TcpCheck => ({ kind: 'tcp', host, port });

describe('SPEC 2 Health checks: tcp', () => {
  it('passes when a connection opens, and closes it at once', async () => {
    const server = await listener();
    const result = await tcpCheck(tcp(server.port), { timeoutMs: 2000 });
    expect(result).toMatchObject({
      kind: 'tcp',
      target: `127.0.0.1:${server.port}`,
      ok: true,
      detail: 'connected',
    });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(server.accepted()).toBe(1);
    await eventually(() => server.open() === 0, 'the server to see the connection closed', 1000);
  });

  it('many checks leave no connection open behind them', async () => {
    const server = await listener();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => tcpCheck(tcp(server.port), { timeoutMs: 2000 })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    await eventually(() => server.accepted() === 20, 'every connection to be accepted', 1000);
    await eventually(() => server.open() === 0, 'every connection to close', 1000);
  });

  it('an IPv6 host is written in brackets in the target', async () => {
    const server = await listener('::1');
    const result = await tcpCheck(tcp(server.port, '::1'), { timeoutMs: 2000 });
    expect(result).toMatchObject({ target: `[::1]:${server.port}`, ok: true, detail: 'connected' });
  });

  it('a closed port is "connection refused"', async () => {
    const [port] = await freePorts(1);
    const result = await tcpCheck(tcp(port!), { timeoutMs: 2000 });
    expect(result).toMatchObject({ target: `127.0.0.1:${port}`, ok: false, detail: 'connection refused' });
  });

  it('a connect that hangs is cut at the timeout', async () => {
    const port = await hangingPort();
    const started = Date.now();
    const result = await tcpCheck(tcp(port), { timeoutMs: 500 });
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ ok: false, detail: 'timed out after 500ms' });
    expect(elapsed).toBeGreaterThanOrEqual(490);
    expect(elapsed).toBeLessThan(1500);
  });

  it('an abort through the signal ends a hanging connect at once', async () => {
    const port = await hangingPort();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const result = await tcpCheck(tcp(port), { timeoutMs: 5000, signal: controller.signal });
    expect(result).toMatchObject({ ok: false, detail: 'aborted' });
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('a signal aborted beforehand opens no connection', async () => {
    const server = await listener();
    const result = await tcpCheck(tcp(server.port), { timeoutMs: 2000, signal: AbortSignal.abort() });
    expect(result).toMatchObject({ ok: false, detail: 'aborted' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.accepted()).toBe(0);
  });

  it('never throws: a port out of range is a failed result', async () => {
    const result = await tcpCheck(tcp(70_000), { timeoutMs: 2000 });
    expect(result.ok).toBe(false);
    expect(result.target).toBe('127.0.0.1:70000');
    expect(result.detail).toMatch(/port/i);
  });
});
