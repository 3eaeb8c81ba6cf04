// Demo web front end: serves a page and proxies /api/* to the API.
import { createServer } from 'node:http';

const port = Number(process.env.WEB_PORT ?? 17804);
const api = `http://127.0.0.1:${process.env.API_PORT ?? 17803}`;

const server = createServer(async (req, res) => {
  if (req.url?.startsWith('/api/')) {
    try {
      const upstream = await fetch(`${api}${req.url.slice(4)}`, { method: req.method });
      res.statusCode = upstream.status;
      return res.end(await upstream.text());
    } catch {
      res.statusCode = 502;
      return res.end('api unavailable\n');
    }
  }
  res.setHeader('content-type', 'text/html');
  res.end('<!doctype html><title>Demo shop</title><h1>Demo shop</h1><p>Restored by restore.</p>\n');
});

server.listen(port, '127.0.0.1', () => console.log(`web listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
