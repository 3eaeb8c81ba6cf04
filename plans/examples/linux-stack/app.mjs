// The application of the linux-stack example: a tiny HTTP service that, like a real one, refuses
// to start unless its data stores answer. It speaks just enough of each protocol to know that the
// right server is there: PostgreSQL must answer an SSLRequest with 'S' or 'N', Redis must answer
// PING with +PONG. Then it serves GET /healthz -> 200 "ok" on 127.0.0.1:APP_PORT.
// Node built-ins only. Environment: APP_PORT, PG_HOST, PG_PORT, REDIS_HOST, REDIS_PORT.
import { createServer } from 'node:http';
import { connect } from 'node:net';

const env = (name, fallback) => process.env[name] ?? fallback;
const appPort = Number(env('APP_PORT', '58080'));
const pg = { host: env('PG_HOST', '127.0.0.1'), port: Number(env('PG_PORT', '55432')) };
const redis = { host: env('REDIS_HOST', '127.0.0.1'), port: Number(env('REDIS_PORT', '56379')) };

/** Connects, writes `request`, and resolves with what the server sent once `done` accepts it. */
function ask(target, request, done, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const socket = connect(target);
    let received = Buffer.alloc(0);
    const fail = (error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no answer within ${timeoutMs} ms`)));
    socket.on('error', fail);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (done(received)) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('end', () => fail(new Error(`connection closed after ${JSON.stringify(received.toString())}`)));
  });
}

async function checkPostgres() {
  // SSLRequest: length 8, code 80877103. A PostgreSQL server answers with one byte, S or N.
  const request = Buffer.alloc(8);
  request.writeInt32BE(8, 0);
  request.writeInt32BE(80877103, 4);
  const answer = await ask(pg, request, (data) => data.length >= 1);
  const byte = String.fromCharCode(answer[0]);
  if (byte !== 'S' && byte !== 'N') throw new Error(`not PostgreSQL: answered ${JSON.stringify(byte)}`);
}

async function checkRedis() {
  const answer = await ask(redis, 'PING\r\n', (data) => data.includes('\r\n'));
  const line = answer.toString().split('\r\n')[0];
  if (line !== '+PONG') throw new Error(`Redis answered ${JSON.stringify(line)} to PING`);
}

const checks = [
  ['PostgreSQL', pg, checkPostgres],
  ['Redis', redis, checkRedis],
];
for (const [name, target, check] of checks) {
  try {
    await check();
    console.log(`${name} at ${target.host}:${target.port} answers`);
  } catch (error) {
    console.error(`refusing to start: ${name} at ${target.host}:${target.port}: ${error.message}`);
    process.exit(1);
  }
}

const server = createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/healthz') {
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    return;
  }
  response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
});
server.on('error', (error) => {
  console.error(`cannot listen on 127.0.0.1:${appPort}: ${error.message}`);
  process.exit(1);
});
server.listen(appPort, '127.0.0.1', () => console.log(`app listening on 127.0.0.1:${appPort}`));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    console.log(`${signal}: shutting down`);
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
