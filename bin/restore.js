#!/usr/bin/env node
// Loads the compiled CLI (npm run build). A closed stdout or stderr does not end it (src/cli/io.ts).
const { main } = await import('../dist/bundle/main.js');
process.exitCode = await main(process.argv.slice(2));
