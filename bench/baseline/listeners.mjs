// Listeners for the probe-round bench: `count` TCP servers on free ports of 127.0.0.1, in a process
// of their own so that accepting costs the measured process nothing. Prints the ports as one JSON
// line once all listen, and exits when its stdin closes (the bench is done).
// Usage: node listeners.mjs <count>
import { createServer } from 'node:net';

const count = Number(process.argv[2] ?? 100);
const servers = await Promise.all(
  Array.from(
    { length: count },
    () =>
      new Promise((resolve) => {
        const server = createServer((socket) => {
          socket.on('error', () => {});
          socket.destroy();
        });
        server.listen(0, '127.0.0.1', () => resolve(server));
      }),
  ),
);
process.stdout.write(`${JSON.stringify(servers.map((server) => server.address().port))}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
