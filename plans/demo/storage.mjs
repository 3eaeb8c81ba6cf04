// Demo storage: a key-value store over HTTP, kept in memory. GET /health answers "ok".
import { createServer } from 'node:http';

const port = Number(process.env.STORAGE_PORT ?? 17801);
const data = new Map();

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://storage');
  if (url.pathname === '/health') return res.end('ok\n');
  const key = url.pathname.slice(1);
  if (req.method === 'PUT') {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      data.set(key, body);
      res.statusCode = 204;
      res.end();
    });
    return;
  }
  if (!data.has(key)) {
    res.statusCode = 404;
    return res.end('not found\n');
  }
  res.end(data.get(key));
});

server.listen(port, '127.0.0.1', () => console.log(`storage listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
