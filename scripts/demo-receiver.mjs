// A notification receiver for the demo (docs/notifications.md): prints what `restore` sends.
//   node scripts/demo-receiver.mjs [port]       (default 17809, or $DEMO_RECEIVER_PORT)
// then, in another terminal:
//   DEMO_NOTIFY_URL=http://127.0.0.1:17809/ npm run demo
// A webhook message prints as its one-line summary (and what comes next); a Slack message as
// its text. Ctrl-C stops it.
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? process.env.DEMO_RECEIVER_PORT ?? 17809);

const server = createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    let message;
    try {
      message = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      process.stdout.write(`[receiver] ${request.method} ${request.url}: not JSON\n`);
      return;
    }
    const time = new Date().toISOString().slice(11, 19);
    if (typeof message.summary === 'string') {
      process.stdout.write(`[receiver ${time}] ${message.event}: ${message.summary}\n`);
      if (message.next) process.stdout.write(`                    next: ${message.next}\n`);
    } else {
      process.stdout.write(`[receiver ${time}] slack: ${message.text}\n`);
    }
  });
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`[receiver] listening on http://127.0.0.1:${port}/ (Ctrl-C to stop)\n`);
});
process.on('SIGINT', () => server.close(() => process.exit(0)));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
