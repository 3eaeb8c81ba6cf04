#!/usr/bin/env node
// Loads the compiled CLI (npm run build). Output piped into `head` must not end in a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
const { main } = await import('../dist/bundle/main.js');
process.exitCode = await main(process.argv.slice(2));
