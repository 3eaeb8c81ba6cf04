// Demo queue: a line protocol over TCP. "PUSH x" queues x, "POP" answers the oldest, "PING" answers PONG.
import { createServer } from 'node:net';

const port = Number(process.env.QUEUE_PORT ?? 17802);
const jobs = [];

const server = createServer((socket) => {
  socket.setEncoding('utf8');
  let buffer = '';
  socket.on('data', (chunk) => {
    buffer += chunk;
    for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
      const [command, ...rest] = buffer.slice(0, end).trim().split(' ');
      buffer = buffer.slice(end + 1);
      if (command === 'PING') socket.write('PONG\n');
      else if (command === 'PUSH') socket.write(`${jobs.push(rest.join(' '))}\n`);
      else if (command === 'POP') socket.write(`${jobs.shift() ?? ''}\n`);
      else socket.write('ERR unknown command\n');
    }
  });
  socket.on('error', () => {});
});

server.listen(port, '127.0.0.1', () => console.log(`queue listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
