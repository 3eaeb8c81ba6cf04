// Demo API: refuses to start unless storage (HTTP) and queue (TCP) both answer and storage holds
// the schema it expects, like a real service that exits when its database is down or was restored
// without its migrations. GET /healthz reports {"status":"ok"}.
import { createServer } from 'node:http';
import { connect } from 'node:net';

const port = Number(process.env.API_PORT ?? 17803);
const storage = `http://127.0.0.1:${process.env.STORAGE_PORT ?? 17801}`;
const queuePort = Number(process.env.QUEUE_PORT ?? 17802);

function pingQueue() {
  return new Promise((resolve, reject) => {
    const socket = connect(queuePort, '127.0.0.1');
    socket.setTimeout(1000, () => socket.destroy(new Error('queue timed out')));
    socket.on('error', reject);
    socket.on('connect', () => socket.write('PING\n'));
    socket.on('data', (chunk) => {
      socket.end();
      String(chunk).startsWith('PONG') ? resolve() : reject(new Error('queue answered nonsense'));
    });
  });
}

try {
  const health = await fetch(`${storage}/health`, { signal: AbortSignal.timeout(1000) });
  if (!health.ok) throw new Error(`storage answered ${health.status}`);
  await pingQueue();
} catch (error) {
  console.error(`api: dependencies are not ready: ${error.message}`);
  process.exit(1);
}
const schema = await fetch(`${storage}/schema`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
if (schema?.status !== 200) {
  console.error('api: storage has no schema: run the migration (node plans/demo/migrate.mjs)');
  process.exit(1);
}

let orders = 0;
const server = createServer(async (req, res) => {
  res.setHeader('content-type', 'application/json');
  if (req.url === '/healthz') return res.end(JSON.stringify({ status: 'ok', orders }));
  if (req.url === '/orders' && req.method === 'POST') {
    orders += 1;
    await fetch(`${storage}/order-${orders}`, { method: 'PUT', body: `order ${orders}` });
    return res.end(JSON.stringify({ id: orders }));
  }
  res.statusCode = 404;
  res.end(JSON.stringify({ error: 'not found' }));
});

server.listen(port, '127.0.0.1', () => console.log(`api listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
